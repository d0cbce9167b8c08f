"""The programmes service: catalogue, enrolment, attendance, referrals, reintegration, follow-up."""

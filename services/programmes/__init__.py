"""The programmes service: catalogue, enrolment and attendance, referrals, reintegration
plans and post-release follow-up (SPEC sections 5 to 8)."""

"""The assessment service: versioned instruments, risk and needs assessments, placement, reviews."""

"""`python -m services.assessment`: run the assessment service."""

from services.assessment.service import create_app
from shared.kit.runtime import serve

serve("assessment", create_app)

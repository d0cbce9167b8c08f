"""`python -m services.intake`: run the intake service."""

from services.intake.service import create_app
from shared.kit.runtime import serve

serve("intake", create_app)

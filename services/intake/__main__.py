"""`python -m services.intake`: run the intake service."""

from shared.kit.runtime import serve

from services.intake.service import create_app

serve("intake", create_app)

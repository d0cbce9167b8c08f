"""`python -m services.judicial`: run the judicial service."""

from services.judicial.service import create_app
from shared.kit.runtime import serve

serve("judicial", create_app)

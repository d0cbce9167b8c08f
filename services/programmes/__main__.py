"""`python -m services.programmes`: run the programmes service."""

from services.programmes.service import create_app
from shared.kit.runtime import serve

serve("programmes", create_app)

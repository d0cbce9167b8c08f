"""`python -m services.ledger`: run the ledger service."""

from services.ledger.service import create_app
from shared.kit.runtime import serve

serve("ledger", create_app)

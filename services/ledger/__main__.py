"""`python -m services.ledger`: run the ledger service."""

from shared.kit.runtime import serve

from services.ledger.service import create_app

serve("ledger", create_app)

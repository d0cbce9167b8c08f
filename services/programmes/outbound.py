"""What programmes publishes: the catalogue event each stored event carries; the facts it notes
from other services (internal events, with no catalogue payload) are never published.
"""

from __future__ import annotations

from shared.kit.relay import default_outbound

__all__ = ["outbound"]

outbound = default_outbound

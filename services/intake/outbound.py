"""What intake publishes: every stored event of `Case` maps to the catalogue event it carries."""

from __future__ import annotations

from shared.kit.relay import default_outbound

__all__ = ["outbound"]

outbound = default_outbound

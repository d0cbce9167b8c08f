"""What assessment publishes: every stored event carrying a catalogue payload and its `Meta`.

Internal events (a case opened, where the person is held) carry neither and stay private.
"""

from __future__ import annotations

from shared.kit.relay import default_outbound

__all__ = ["outbound"]

outbound = default_outbound

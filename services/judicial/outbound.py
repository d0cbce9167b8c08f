"""What judicial publishes: every stored event carrying a catalogue payload maps to it.

What judicial learnt from intake (`IntakeRecordNoted`) carries no payload and stays internal.
"""

from __future__ import annotations

from shared.kit.relay import default_outbound

__all__ = ["outbound"]

outbound = default_outbound

"""What intake does with judicial's events: the release and erasure orders it may then execute,
and the voiding of such an order. One table, catalogue event → application method.
"""

from __future__ import annotations

from services.intake.application import IntakeApplication
from shared.events.judicial import ErasureOrdered, ReleaseOrdered
from shared.events.voiding import JudicialEntryVoided
from shared.kit.subscriber import Reactions

__all__ = ["CONSUMER", "reactions"]

CONSUMER = "release-orders"
"""The durable consumer is `intake-release-orders` (named for its first use)."""


def reactions(app: IntakeApplication) -> list[Reactions]:
    """One consumer: judicial's orders and their voidings are handled in the order judicial
    recorded them."""
    return [
        Reactions(
            app,
            CONSUMER,
            {
                ReleaseOrdered: app.on_release_ordered,
                ErasureOrdered: app.on_erasure_ordered,
                JudicialEntryVoided: app.on_judicial_entry_voided,
            },
        )
    ]

"""The durable consumers of the services, made ahead of them by `ops` (`caseline nats-stream`).

Under the generated NATS permissions (deploy/nats/agencies.conf) a service may read and pull from
its own consumers but not make or change them: a consumer's filter is part of its configuration,
and a service that could set it could read every subject of the stream. So the operators' user
makes each consumer with the filter its service's subscriber runs it with
(`shared.kit.runtime.consumer_configs`), and makes it again after an upgrade that changes one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

from services.assessment.inbound import reactions as assessment_reactions
from services.intake.inbound import reactions as intake_reactions
from services.judicial.inbound import reactions as judicial_reactions
from services.ledger.inbound import reactions as ledger_reactions
from services.programmes.inbound import reactions as programmes_reactions
from shared.kit.bus import ensure_stream
from shared.kit.runtime import consumer_configs
from shared.kit.settings import Settings
from shared.kit.subscriber import Consumer

__all__ = ["SERVICE_REACTIONS", "planned", "provision"]

SERVICE_REACTIONS: dict[str, tuple[Callable[[Any], Sequence[Consumer]], bool]] = {
    "intake": (intake_reactions, True),
    "judicial": (judicial_reactions, True),
    "assessment": (assessment_reactions, True),
    "programmes": (programmes_reactions, True),
    # The ledger records no event of its own: its one consumer takes them all.
    "ledger": (ledger_reactions, False),
}
"""Service → its reactions (`inbound.reactions`) and whether it has events of its own (and so
a consumer of the others' access facts), as its `service.create_app` runs them."""


def planned(settings: Settings) -> list[ConsumerConfig]:
    """Every service's durable consumers, as their subscribers run them."""
    return [
        config
        for service, (reactions, own) in SERVICE_REACTIONS.items()
        for config in consumer_configs(settings, service, reactions, own_events=own)
    ]


async def provision(js: JetStreamContext, settings: Settings) -> list[str]:
    """Make (or bring up to date) the stream and every service's durable consumer; their names."""
    await ensure_stream(js, settings)
    made = []
    for config in planned(settings):
        await js.add_consumer(settings.stream, config)
        made.append(str(config.durable_name))
    return made

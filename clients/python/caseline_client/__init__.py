"""Caseline's client kit: receive an agency's deliveries, handle each once, and trust them.

Over NATS, `subscribe` / `AgencyConsumer` (the `nats` extra); over webhooks, `WebhookReceiver`.
`Verifier` proves a delivery against the ledger's signed checkpoints under pinned keys;
`LedgerClient.resolve` reads the personal fields a delivery withholds, as the ledger shows them.
"""

from caseline_client.consumer import DEFAULT_STREAM, AgencyConsumer, Counts, subscribe
from caseline_client.delivery import Delivery, InvalidDeliveryError
from caseline_client.ledger import ERASED, LedgerClient, LedgerError, Resolved
from caseline_client.proofs import (
    Checkpoint,
    NotYetProvenError,
    Proof,
    ProofError,
    Verifier,
    checkpoint_json,
)
from caseline_client.seen import MemorySeen, Seen, SqliteSeen
from caseline_client.webhooks import InvalidWebhookError, WebhookReceiver, verify_webhook

__all__ = [
    "DEFAULT_STREAM",
    "ERASED",
    "AgencyConsumer",
    "Checkpoint",
    "Counts",
    "Delivery",
    "InvalidDeliveryError",
    "InvalidWebhookError",
    "LedgerClient",
    "LedgerError",
    "MemorySeen",
    "NotYetProvenError",
    "Proof",
    "ProofError",
    "Resolved",
    "Seen",
    "SqliteSeen",
    "Verifier",
    "WebhookReceiver",
    "checkpoint_json",
    "subscribe",
    "verify_webhook",
]

"""Caseline's client kit: receive an agency's deliveries and trust them."""

from caseline_client.webhooks import (
    InvalidWebhookError,
    MemorySeen,
    WebhookReceiver,
    verify_webhook,
)

__all__ = ["InvalidWebhookError", "MemorySeen", "WebhookReceiver", "verify_webhook"]

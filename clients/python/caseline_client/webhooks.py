"""Receive Caseline's webhooks: Standard Webhooks signatures checked, replays refused, each event
handled once by its CloudEvents `id`.

`verify_webhook` checks one request (any of the space-separated `v1,` signatures made with any
configured secret — two during a rotation — and a timestamp within the tolerance). A message id
seen within the tolerance is a replay; older ones cannot pass the timestamp check anyway.
`WebhookReceiver` is a Starlette endpoint: it verifies, skips an event it already handled and
answers 2xx only once the handler returned, so a failure is retried by the ledger.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from caseline_client.seen import MemorySeen, Seen

__all__ = ["InvalidWebhookError", "MemorySeen", "Seen", "WebhookReceiver", "verify_webhook"]

TOLERANCE_SECONDS = 300


class InvalidWebhookError(ValueError):
    """The request is not an authentic, fresh webhook of this endpoint."""


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def verify_webhook(
    secrets: Sequence[str],
    headers: Any,
    body: bytes,
    *,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> str:
    """The message id of an authentic webhook; raises `InvalidWebhookError` otherwise."""
    message_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not message_id or not stamp or not signatures:
        raise InvalidWebhookError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise InvalidWebhookError("webhook-timestamp is not Unix seconds") from None
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise InvalidWebhookError("webhook-timestamp is outside the tolerance")
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = [
        base64.b64encode(hmac.new(_key(s), signed, hashlib.sha256).digest()) for s in secrets
    ]
    for part in signatures.split():
        version, _, value = part.partition(",")
        if version == "v1" and any(hmac.compare_digest(value.encode(), e) for e in expected):
            return str(message_id)
    raise InvalidWebhookError("no signature matches")


Handler = Callable[[dict[str, Any]], Any]


class WebhookReceiver:
    """A Starlette endpoint for one agency's deliveries: `Route("/hook", receiver, methods=["POST"])`.

    `handler(event)` gets each authentic event (a CloudEvent dict, with `ledgerseq` and
    `ledgerhash`) once per event id; `events` remembers handled ids (give a persistent one, such
    as the example's SQLite store, to stay idempotent across restarts). A request seen before
    (same id and timestamp: a capture sent again) is refused with 409; the ledger's own retry
    of a message carries a new timestamp and is answered 204 without handling its event twice.
    """

    def __init__(
        self,
        secrets: Sequence[str],
        handler: Handler,
        *,
        events: Seen | None = None,
        tolerance: float = TOLERANCE_SECONDS,
    ) -> None:
        self.secrets = list(secrets)
        self.handler = handler
        self.tolerance = tolerance
        self.requests = MemorySeen(ttl=2 * tolerance)
        self.events: Seen = events if events is not None else MemorySeen()
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        try:
            message_id = verify_webhook(
                self.secrets, request.headers, body, tolerance=self.tolerance
            )
        except InvalidWebhookError as exc:
            return _problem(401, "Invalid webhook", str(exc))
        try:
            event = json.loads(body)
            event_id = str(event["id"])
        except (ValueError, KeyError, TypeError):
            return _problem(400, "Not a CloudEvent", "the body is not a structured CloudEvent")
        request_key = f"{message_id}.{request.headers['webhook-timestamp']}"
        # One request at a time: an event is marked handled only once its handler returned.
        with self._lock:
            if self.requests.seen(request_key):
                return _problem(409, "Replayed webhook", "this request was received before")
            if not self.events.seen(event_id):
                self.handler(event)
                self.events.add(event_id)
            self.requests.add(request_key)
        return Response(status_code=204)


def _problem(status: int, title: str, detail: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")

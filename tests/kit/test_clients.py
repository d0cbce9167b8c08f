"""The services' outgoing HTTP clients share one TLS context, and it still checks certificates."""

from __future__ import annotations

import asyncio
import ssl

from shared.kit.clients import async_client, tls_context


def test_the_context_checks_certificates_and_host_names() -> None:
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_clients_share_the_one_context_and_keep_their_options() -> None:
    async def make() -> tuple[ssl.SSLContext, ssl.SSLContext, float | None]:
        async with async_client(timeout=7) as one, async_client() as two:
            pools = [c._transport._pool for c in (one, two)]  # type: ignore[attr-defined]
            return pools[0]._ssl_context, pools[1]._ssl_context, one.timeout.read

    first, second, read = asyncio.run(make())
    assert first is second is tls_context()
    assert read == 7

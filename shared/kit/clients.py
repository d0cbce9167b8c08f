"""HTTP clients for the calls a service makes: to another service, to the ledger, to an agency.

A new `httpx` client loads the system's trusted certificates into a TLS context of its own: 27 ms
of CPU each time on a two-core server, whether or not the address is `https`. Every client made
here shares one context, loaded the first time a client is asked for.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

__all__ = ["async_client", "tls_context"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context: the trusted certificates (`SSL_CERT_FILE`, `SSL_CERT_DIR` or
    the defaults), certificates and host names checked."""
    return httpx.create_ssl_context()


def async_client(**options: Any) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` with `options`, sharing the process's TLS context."""
    return httpx.AsyncClient(verify=tls_context(), **options)

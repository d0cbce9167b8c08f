"""`caseline env-file`: `.env.example` with every empty secret filled with a fresh random value.

Keys that must be 32 bytes (`CASELINE_MASTER_KEY`, the Ed25519 signing keys) get base64 of 32
random bytes; every other empty value gets 48 hex digits (URL-safe, so passwords fit in URLs).
Values that are set (or meant to stay empty, like `OTEL_EXPORTER_OTLP_ENDPOINT` and
`CASELINE_LEDGER_RETIRED_KEYS`) are kept. An empty
`CASELINE_SERVICE_PUBLIC_KEYS` is derived from the services' signing keys (`CASELINE_<SERVICE>_
SIGNING_KEY`, base64 of 32 bytes each), and an empty `CASELINE_JWT_PUBLIC_KEY` from the token
issuer's `CASELINE_TOKEN_SIGNING_KEY`.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["KEEP_EMPTY", "example_path", "fill", "parse"]

# The checkout's (or, in the image, /app's) `.env.example`: beside the `caseline` package.
SHIPPED_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"

SERVICE_KEYS = {
    f"CASELINE_{service.upper()}_SIGNING_KEY": service
    for service in ("intake", "judicial", "assessment", "programmes")  # the ledger publishes none
}
TOKEN_KEY, TOKEN_PUBLIC_KEY = "CASELINE_TOKEN_SIGNING_KEY", "CASELINE_JWT_PUBLIC_KEY"
BASE64_KEYS = frozenset(
    {"CASELINE_MASTER_KEY", "CASELINE_LEDGER_SIGNING_KEY", TOKEN_KEY, *SERVICE_KEYS}
)
PUBLIC_KEYS = "CASELINE_SERVICE_PUBLIC_KEYS"
DERIVED = frozenset({PUBLIC_KEYS, TOKEN_PUBLIC_KEY})
KEEP_EMPTY = frozenset({"OTEL_EXPORTER_OTLP_ENDPOINT", "CASELINE_LEDGER_RETIRED_KEYS"})


def example_path() -> Path:
    """`.env.example` of the current directory, else the one shipped beside the code."""
    here = Path(".env.example")
    return here if here.is_file() else SHIPPED_EXAMPLE


def parse(text: str) -> dict[str, str]:
    """`NAME=value` lines (comments and blank lines skipped), as docker compose reads them."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        out[name.strip()] = value.strip().strip("'\"")
    return out


def _secret(name: str) -> str:
    if name in BASE64_KEYS:
        return base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_hex(24)


def fill(text: str) -> str:
    """The file with every empty value (except `KEEP_EMPTY`) replaced by a fresh secret."""
    lines = []
    for raw in text.splitlines():
        name, sep, value = raw.partition("=")
        key = name.strip()
        empty = sep and not raw.lstrip().startswith("#") and not value.strip()
        if empty and key not in KEEP_EMPTY and key not in DERIVED:
            raw = f"{key}={_secret(key)}"
        lines.append(raw)
    filled = "\n".join(lines) + "\n"
    return "\n".join(_derived(line, filled) for line in lines) + "\n"


def _derived(line: str, text: str) -> str:
    """A public-key line, when empty: derived from the private keys `text` holds."""
    name, _, value = line.partition("=")
    if name.strip() not in DERIVED or value.strip():
        return line
    values = parse(text)
    if name.strip() == TOKEN_PUBLIC_KEY:
        if not values.get(TOKEN_KEY):
            return line  # an identity provider's key is to be set by hand
        from cryptography.hazmat.primitives import serialization

        public = (
            _ed25519(values[TOKEN_KEY])
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        return f"{TOKEN_PUBLIC_KEY}={base64.b64encode(public).decode()}"
    from shared.kit.origins import ServiceKey, public_keys_json

    keys = [
        ServiceKey(service, _ed25519(values[name]))
        for name, service in SERVICE_KEYS.items()
        if values.get(name)
    ]
    return f"{PUBLIC_KEYS}='{public_keys_json(keys)}'"


def _ed25519(b64: str) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(b64))

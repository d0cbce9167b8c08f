"""`caseline env-file`: `.env.example` with every empty secret filled with a fresh random value.

Keys that must be 32 bytes (`CASELINE_MASTER_KEY`, `CASELINE_LEDGER_SIGNING_KEY`) get base64 of 32
random bytes; every other empty value gets 48 hex digits (URL-safe, so passwords fit in URLs).
Values that are set (or meant to stay empty, like `OTEL_EXPORTER_OTLP_ENDPOINT`) are kept.
"""

from __future__ import annotations

import base64
import secrets

__all__ = ["KEEP_EMPTY", "fill", "parse"]

BASE64_KEYS = frozenset({"CASELINE_MASTER_KEY", "CASELINE_LEDGER_SIGNING_KEY"})
KEEP_EMPTY = frozenset({"OTEL_EXPORTER_OTLP_ENDPOINT"})


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
        if sep and not raw.lstrip().startswith("#") and not value.strip() and key not in KEEP_EMPTY:
            raw = f"{key}={_secret(key)}"
        lines.append(raw)
    return "\n".join(lines) + "\n"

"""Ed25519 keys as settings spell them: one parser for every key Caseline reads.

A private key is a PEM (PKCS #8) key or the base64 of its raw 32-byte seed; a public key is the
base64 of its raw 32 bytes. `what` names the setting in every error.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["b64decode", "private_key", "public_key", "raw_public"]


def b64decode(text: str, what: str) -> bytes:
    """Strict base64 (no stray characters), or a ValueError naming `what`."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise ValueError(f"{what} is not base64") from None


def private_key(text: str, what: str) -> Ed25519PrivateKey:
    """A PEM Ed25519 private key, or the base64 of its raw 32-byte seed."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{what} is not an Ed25519 key")
        return key
    raw = b64decode(text, what)
    if len(raw) != 32:
        raise ValueError(f"{what}: a raw Ed25519 private key has 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key(text: str, what: str) -> Ed25519PublicKey:
    """The base64 of a raw 32-byte Ed25519 public key."""
    raw = b64decode(text, what)
    if len(raw) != 32:
        raise ValueError(f"{what}: a raw Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def raw_public(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    """The raw 32 bytes of a public key (of a private key's public half)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

"""Per-case data keys for crypto-shredding, and the AES-GCM cipher that uses them.

The default key store keeps each case's 256-bit key in PostgreSQL (schema `keystore`), wrapped
(AES-GCM) by the master key from `CASELINE_MASTER_KEY`. Erasing a case destroys its key and leaves
a tombstone, so no new key can be made for it. Other stores plug in through `KeyStore`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from shared.events.personal import KeyErasedError
from shared.kit.settings import Settings

__all__ = ["KEYSTORE_DDL", "CaseKeyCipher", "KeyStore", "PostgresKeyStore", "master_key"]

_DEVELOPMENT_MASTER = hashlib.sha256(
    b"caseline development master key - never in production"
).digest()
_CACHE_SECONDS = 2.0


def master_key(settings: Settings) -> bytes:
    """The 32-byte master key (base64 in `CASELINE_MASTER_KEY`); a fixed one in development."""
    if settings.master_key is None:
        return _DEVELOPMENT_MASTER
    raw = base64.b64decode(settings.master_key.get_secret_value())
    if len(raw) != 32:
        raise ValueError("CASELINE_MASTER_KEY must be 32 bytes, base64-encoded")
    return raw


KEYSTORE_DDL = (
    "CREATE SCHEMA IF NOT EXISTS keystore;"
    "CREATE TABLE IF NOT EXISTS keystore.case_keys ("
    " case_id text PRIMARY KEY, key_id text NOT NULL, wrapped bytea,"
    " created_at timestamptz NOT NULL DEFAULT now(), erased_at timestamptz)"
)


class KeyStore(ABC):
    """Where per-case keys live."""

    @abstractmethod
    def key_for_writing(self, case_id: str) -> tuple[str, bytes]:
        """The case's key id and key, created on first use; KeyErasedError once erased."""

    @abstractmethod
    def key(self, case_id: str, key_id: str) -> bytes:
        """The key to read with; KeyErasedError once erased."""

    @abstractmethod
    def erase(self, case_id: str) -> bool:
        """Destroy the case's key for good; True if a key was destroyed now."""


class PostgresKeyStore(KeyStore):
    """Keys in `keystore.case_keys`, wrapped by the master key."""

    def __init__(self, settings: Settings) -> None:
        self.wrapper = AESGCM(master_key(settings))
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            settings.database.conninfo(), min_size=1, max_size=4,
            kwargs={"row_factory": tuple_row}, open=True, timeout=5,
        )  # fmt: skip
        self._cache: dict[str, tuple[float, str, bytes]] = {}
        self._lock = threading.Lock()
        with self.pool.connection() as conn:
            row = conn.execute("SELECT to_regclass('keystore.case_keys')").fetchone()
            if row is not None and row[0] is not None:
                return  # created already: a restricted role need not (and may not) run DDL
            conn.execute("SELECT pg_advisory_lock(hashtext('caseline-keystore'))")
            try:
                conn.execute(KEYSTORE_DDL)
                conn.commit()
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext('caseline-keystore'))")
                conn.commit()

    def close(self) -> None:
        self.pool.close()

    def _unwrap(self, case_id: str, key_id: str, wrapped: bytes) -> bytes:
        return self.wrapper.decrypt(wrapped[:12], wrapped[12:], f"{case_id}:{key_id}".encode())

    def _cached(self, case_id: str) -> tuple[str, bytes] | None:
        with self._lock:
            hit = self._cache.get(case_id)
        if hit and time.monotonic() - hit[0] < _CACHE_SECONDS:
            return hit[1], hit[2]
        return None

    def _load(self, case_id: str) -> tuple[str, bytes] | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT key_id, wrapped FROM keystore.case_keys WHERE case_id = %s", (case_id,)
            ).fetchone()
        if row is None:
            return None
        if row[1] is None:
            raise KeyErasedError(case_id)
        key = self._unwrap(case_id, row[0], bytes(row[1]))
        with self._lock:
            self._cache[case_id] = (time.monotonic(), row[0], key)
        return row[0], key

    def key_for_writing(self, case_id: str) -> tuple[str, bytes]:
        found = self._cached(case_id) or self._load(case_id)
        if found is not None:
            return found
        key_id, key = os.urandom(8).hex(), AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        wrapped = nonce + self.wrapper.encrypt(nonce, key, f"{case_id}:{key_id}".encode())
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO keystore.case_keys (case_id, key_id, wrapped) VALUES (%s, %s, %s)"
                " ON CONFLICT (case_id) DO NOTHING",
                (case_id, key_id, wrapped),
            )
            conn.commit()
        found = self._load(case_id)  # another process may have won the race: use its key
        assert found is not None
        return found

    def key(self, case_id: str, key_id: str) -> bytes:
        found = self._cached(case_id) or self._load(case_id)
        if found is None or found[0] != key_id:
            raise KeyErasedError(case_id)
        return found[1]

    def erase(self, case_id: str) -> bool:
        with self._lock:
            self._cache.pop(case_id, None)
        with self.pool.connection() as conn:
            cur = conn.execute(
                "INSERT INTO keystore.case_keys (case_id, key_id, wrapped, erased_at)"
                " VALUES (%s, 'erased', NULL, now())"
                " ON CONFLICT (case_id) DO UPDATE SET wrapped = NULL, erased_at = now()"
                " WHERE keystore.case_keys.wrapped IS NOT NULL",
                (case_id,),
            )
            conn.commit()
            return cur.rowcount == 1


class CaseKeyCipher:
    """AES-256-GCM under each case's own key (implements `shared.events.personal.CaseCipher`)."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def encrypt(self, case_id: str, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        key_id, key = self.keys.key_for_writing(case_id)
        nonce = os.urandom(12)
        return key_id, nonce + AESGCM(key).encrypt(nonce, plaintext, aad)

    def decrypt(self, case_id: str, key_id: str, ciphertext: bytes, aad: bytes) -> bytes:
        key = self.keys.key(case_id, key_id)
        return AESGCM(key).decrypt(ciphertext[:12], ciphertext[12:], aad)

    def seal_value(self, case_id: str, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        """Deterministic (AES-SIV) encryption for read models: a rebuilt view equals the live one."""
        key_id, key = self.keys.key_for_writing(case_id)
        return key_id, AESSIV(key).encrypt(plaintext, [aad])

    def open_value(self, case_id: str, key_id: str, ciphertext: bytes, aad: bytes) -> bytes:
        return AESSIV(self.keys.key(case_id, key_id)).decrypt(ciphertext, [aad])

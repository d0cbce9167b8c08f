"""Per-case data keys for crypto-shredding, and the AES-GCM cipher that uses them.

The default key store keeps each case's 256-bit key in PostgreSQL (schema `keystore`), wrapped
(AES-GCM) by the master key from `CASELINE_MASTER_KEY`; each wrapped key names the id of the master
that wrapped it, so a rotation can run live: new keys are wrapped under the current master, keys
still wrapped under a previous one (`CASELINE_MASTER_KEY_PREVIOUS`) stay readable until
`rewrap` has moved them. Erasing a case destroys its key and leaves a tombstone, so no new key can
be made for it. Other stores plug in through `KeyStore`.
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
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from shared.events.personal import ENCRYPTED, ERASED, KeyErasedError
from shared.kit.pools import idle_checked_pool
from shared.kit.settings import Settings

__all__ = [
    "KEYSTORE_DDL",
    "CaseKeyCipher",
    "KeyStore",
    "PostgresKeyStore",
    "SealedColumn",
    "master_key",
    "master_key_id",
    "master_keys",
]

_DEVELOPMENT_MASTER = hashlib.sha256(
    b"caseline development master key - never in production"
).digest()
_CACHE_SECONDS = 2.0


def _decode_master(value: str, name: str) -> bytes:
    raw = base64.b64decode(value.strip())
    if len(raw) != 32:
        raise ValueError(f"{name} must be 32 bytes, base64-encoded")
    return raw


def master_key(settings: Settings) -> bytes:
    """The 32-byte master key (base64 in `CASELINE_MASTER_KEY`); a fixed one in development."""
    if settings.master_key is None:
        return _DEVELOPMENT_MASTER
    return _decode_master(settings.master_key.get_secret_value(), "CASELINE_MASTER_KEY")


def master_key_id(key: bytes) -> str:
    """A master key's public id: a hash of it, so the id cannot drift from the key it names."""
    return hashlib.sha256(b"caseline master key id:" + key).hexdigest()[:16]


def master_keys(settings: Settings) -> dict[str, bytes]:
    """Every master key that may unwrap, by id: the current one first, then the previous ones."""
    keys = [master_key(settings)]
    if settings.master_key_previous is not None:
        listed = settings.master_key_previous.get_secret_value().split(",")
        keys += [_decode_master(v, "CASELINE_MASTER_KEY_PREVIOUS") for v in listed if v.strip()]
    return {master_key_id(k): k for k in keys}


KEYSTORE_DDL = (
    "CREATE SCHEMA IF NOT EXISTS keystore;"
    "CREATE TABLE IF NOT EXISTS keystore.case_keys ("
    " case_id text PRIMARY KEY, key_id text NOT NULL, wrapped bytea,"
    " created_at timestamptz NOT NULL DEFAULT now(), erased_at timestamptz);"
    # Keys wrapped before master ids existed have none: every configured master is tried.
    "ALTER TABLE keystore.case_keys ADD COLUMN IF NOT EXISTS master_kid text"
)
_READY = (
    "SELECT 1 FROM information_schema.columns WHERE table_schema = 'keystore'"
    " AND table_name = 'case_keys' AND column_name = 'master_kid'"
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

    def close(self) -> None:  # noqa: B027 - optional: only some stores hold something
        """Release what the store holds (a connection pool); nothing by default."""


class PostgresKeyStore(KeyStore):
    """Keys in `keystore.case_keys`, wrapped by the master key."""

    def __init__(self, settings: Settings) -> None:
        self.masters = {kid: AESGCM(key) for kid, key in master_keys(settings).items()}
        self.master_kid = next(iter(self.masters))
        self.pool: ConnectionPool[psycopg.Connection[Any]] = idle_checked_pool(
            settings.database.conninfo(), min_size=1, max_size=4,
            kwargs={"row_factory": tuple_row}, open=True, timeout=5,
        )  # fmt: skip
        self._cache: dict[str, tuple[float, str, bytes]] = {}
        self._lock = threading.Lock()
        with self.pool.connection() as conn:
            if conn.execute(_READY).fetchone() is not None:
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

    def _unwrap(self, case_id: str, key_id: str, master_kid: str | None, wrapped: bytes) -> bytes:
        aad = f"{case_id}:{key_id}".encode()
        tried = [master_kid] if master_kid is not None else list(self.masters)
        for kid in tried:
            master = self.masters.get(kid)
            if master is None:
                continue
            try:
                return master.decrypt(wrapped[:12], wrapped[12:], aad)
            except InvalidTag:
                continue
        raise RuntimeError(f"case {case_id}: its key is wrapped by master key {master_kid},"
                           " which is not configured (CASELINE_MASTER_KEY_PREVIOUS?)")  # fmt: skip

    def _wrap(self, case_id: str, key_id: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        master = self.masters[self.master_kid]
        return nonce + master.encrypt(nonce, key, f"{case_id}:{key_id}".encode())

    def _cached(self, case_id: str) -> tuple[str, bytes] | None:
        with self._lock:
            hit = self._cache.get(case_id)
        if hit and time.monotonic() - hit[0] < _CACHE_SECONDS:
            return hit[1], hit[2]
        return None

    def _load(self, case_id: str) -> tuple[str, bytes] | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT key_id, wrapped, master_kid FROM keystore.case_keys WHERE case_id = %s",
                (case_id,),
            ).fetchone()
        if row is None:
            return None
        if row[1] is None:
            raise KeyErasedError(case_id)
        key = self._unwrap(case_id, row[0], row[2], bytes(row[1]))
        with self._lock:
            self._cache[case_id] = (time.monotonic(), row[0], key)
        return row[0], key

    def key_for_writing(self, case_id: str) -> tuple[str, bytes]:
        found = self._cached(case_id) or self._load(case_id)
        if found is not None:
            return found
        key_id, key = os.urandom(8).hex(), AESGCM.generate_key(bit_length=256)
        wrapped = self._wrap(case_id, key_id, key)
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO keystore.case_keys (case_id, key_id, wrapped, master_kid)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (case_id) DO NOTHING",
                (case_id, key_id, wrapped, self.master_kid),
            )
            conn.commit()
        found = self._load(case_id)  # another process may have won the race: use its key
        if found is None:
            raise RuntimeError(f"the key of case {case_id} was stored but cannot be read back")
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
                " ON CONFLICT (case_id) DO UPDATE SET wrapped = NULL, master_kid = NULL,"
                " erased_at = now()"
                " WHERE keystore.case_keys.wrapped IS NOT NULL",
                (case_id,),
            )
            conn.commit()
            return cur.rowcount == 1

    def rewrap(self, batch: int = 500) -> int:
        """Re-wrap up to `batch` live keys not yet under the current master; how many moved.

        Each row is moved only if it is still as read (not erased, not moved by another run):
        services keep reading it meanwhile, as the key itself does not change.
        """
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT case_id, key_id, master_kid, wrapped FROM keystore.case_keys"
                " WHERE wrapped IS NOT NULL AND master_kid IS DISTINCT FROM %s"
                " ORDER BY case_id LIMIT %s",
                (self.master_kid, batch),
            ).fetchall()
            moved = 0
            for case_id, key_id, kid, wrapped in rows:
                key = self._unwrap(case_id, key_id, kid, bytes(wrapped))
                moved += conn.execute(
                    "UPDATE keystore.case_keys SET wrapped = %s, master_kid = %s"
                    " WHERE case_id = %s AND wrapped = %s",
                    (self._wrap(case_id, key_id, key), self.master_kid, case_id, wrapped),
                ).rowcount
                conn.commit()
        return moved

    def wrapped_by(self) -> dict[str | None, int]:
        """How many live keys each master key id wraps (None: wrapped before ids existed)."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT master_kid, count(*) FROM keystore.case_keys"
                " WHERE wrapped IS NOT NULL GROUP BY master_kid"
            ).fetchall()
        return dict(rows)


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


class SealedColumn:
    """One personal value a read model keeps: encrypted under the case's key, never in clear.

    Deterministic (AES-SIV), so a rebuilt view equals the live one; a key id and a ciphertext
    column hold it, and it reads as `[erased]` once the case's key is destroyed. `aad` names the
    column (`caseline:<service>.<table>.<column>`), so a ciphertext cannot be moved to another.
    """

    def __init__(self, aad: bytes) -> None:
        self.aad = aad
        self.cipher: CaseKeyCipher | None = None

    def bind(self, keys: KeyStore) -> None:
        self.cipher = CaseKeyCipher(keys)

    def seal(self, case_id: Any, value: str | None) -> tuple[str | None, bytes | None]:
        """The key id and ciphertext to store (both None: nothing to keep, or already erased)."""
        if self.cipher is None or value is None or value in (ENCRYPTED, ERASED):
            return None, None
        try:
            return self.cipher.seal_value(str(case_id), value.encode(), self.aad)
        except KeyErasedError:
            return None, None

    def open(self, case_id: Any, key_id: str | None, ciphertext: bytes | None) -> str:
        """The value, or `[erased]` once the case's key is gone (or nothing was kept)."""
        if self.cipher is None or key_id is None or ciphertext is None:
            return ERASED
        try:
            return self.cipher.open_value(
                str(case_id), key_id, bytes(ciphertext), self.aad
            ).decode()
        except KeyErasedError:
            return ERASED

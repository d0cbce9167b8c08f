"""In-memory persistence for the fast tests: the library's `eventsourcing.popo` recorder with the
store's inbound records and idempotency keys (unique, as in PostgreSQL, and read back), and
per-case keys held in memory. No view is kept: what reads one says so (`NoViewsError`) instead
of answering wrong.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder

from shared.events.personal import KeyErasedError
from shared.kit.keystore import KeyStore
from shared.kit.recorder import Idempotency

__all__ = ["MemoryKeyStore", "MemoryRecorder", "NoViewsError"]


class NoViewsError(RuntimeError):
    """An in-memory application was asked for something only its SQL views can answer."""


class MemoryRecorder(POPOApplicationRecorder):
    """The library's in-memory recorder, plus what `CaselineRecorder` stores with the events.

    An inbound record or an idempotency key seen before refuses the whole write with an
    `IntegrityError`, events included, as the primary keys of the PostgreSQL tables do.
    """

    def __init__(self) -> None:
        super().__init__()
        self.inbound: set[tuple[str, UUID]] = set()
        self.idempotency: dict[str, Idempotency] = {}

    def _assert_uniqueness(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        if kwargs.get("view_ops"):
            raise NoViewsError("the in-memory store keeps no views: nothing may write to one")
        super()._assert_uniqueness(stored_events, **kwargs)
        inbound = kwargs.get("inbound")
        if inbound is not None and tuple(inbound) in self.inbound:
            raise IntegrityError(f"inbound event already processed: {inbound}")
        idem = kwargs.get("idempotency")
        if idem is not None and idem.key in self.idempotency:
            raise IntegrityError(f"idempotency key already used: {idem.key}")

    def _update_table(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._update_table(stored_events, **kwargs)
        inbound = kwargs.get("inbound")
        if inbound is not None:
            self.inbound.add((inbound[0], inbound[1]))
        idem = kwargs.get("idempotency")
        if idem is not None:
            self.idempotency[idem.key] = idem
        return ids


class MemoryKeyStore(KeyStore):
    """Per-case keys in a dictionary; an erased case keeps a tombstone, as in PostgreSQL."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, bytes] | None] = {}
        self._lock = threading.Lock()

    def key_for_writing(self, case_id: str) -> tuple[str, bytes]:
        with self._lock:
            if case_id not in self._keys:
                self._keys[case_id] = (os.urandom(8).hex(), AESGCM.generate_key(bit_length=256))
            found = self._keys[case_id]
        if found is None:
            raise KeyErasedError(case_id)
        return found

    def key(self, case_id: str, key_id: str) -> bytes:
        with self._lock:
            found = self._keys.get(case_id)
        if found is None or found[0] != key_id:
            raise KeyErasedError(case_id)
        return found[1]

    def erase(self, case_id: str) -> bool:
        with self._lock:
            # A case with no key yet gets a tombstone too (a destruction, as in PostgreSQL).
            destroyed = case_id not in self._keys or self._keys[case_id] is not None
            self._keys[case_id] = None
        return destroyed

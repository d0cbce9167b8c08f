"""A stored ledger entry as the reads take it, and where its envelope lies in its canonical bytes.

Reads that show many entries write them around these bytes rather than parsing and encoding them.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any, NamedTuple

__all__ = ["STORED_COLUMNS", "StoredEntry"]

STORED_COLUMNS = "ledger_seq, case_seq, hash, prev_hash, appended_at, type, canonical"


class StoredEntry(NamedTuple):
    """One entry as the reads give it (`STORED_COLUMNS`): position, hashes, canonical bytes."""

    ledger_seq: int
    case_seq: int
    hash: bytes
    prev_hash: bytes
    appended_at: datetime
    type: str
    canonical: bytes

    def event_bytes(self) -> bytes | None:
        """The envelope's canonical bytes as they lie inside the entry's, None if they do not lie
        where `store._entries` puts them (the caller then parses the whole entry)."""
        canonical = self.canonical
        start = canonical.find(b',"event":{')
        tail = b',"ledger_seq":%d,"type":%s}' % (self.ledger_seq, _json_string(self.type))
        # Keys are sorted and strings escape every quote, so the first `,"event":{` is the key.
        if start < 0 or not canonical.endswith(tail):
            return None
        return canonical[start + 9 : len(canonical) - len(tail)]

    def as_dict(self) -> dict[str, Any]:
        """The entry with its envelope parsed, as `visibility.visible_entries` takes it."""
        return {
            "ledger_seq": self.ledger_seq,
            "case_seq": self.case_seq,
            "hash": bytes(self.hash).hex(),
            "prev_hash": bytes(self.prev_hash).hex(),
            "appended_at": self.appended_at.isoformat(),
            "event": json.loads(bytes(self.canonical))["event"],
        }


@functools.lru_cache(maxsize=256)
def _json_string(value: str) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()

"""Verifying while entries arrive and checkpoints are signed never reports a false failure."""

from __future__ import annotations

import threading
from uuid import uuid4

from services.ledger.application import LedgerApplication
from services.ledger.verification import Verification
from shared.kit.errors import NotFoundError
from tests.support.ledger import appendable


def test_verifying_during_appends_and_signing_finds_nothing_wrong(settings):
    ledger = LedgerApplication(settings)
    cases = [uuid4() for _ in range(3)]
    appended = threading.Event()
    failures: list[Verification] = []
    checks: list[int] = []

    def append() -> None:
        for n in range(45):
            ledger.store.append([appendable(c, n) for c in cases[: 1 + n % 3]])
        appended.set()

    def sign() -> None:
        while not appended.is_set():
            ledger.checkpointer.checkpoint_now()

    def verify() -> None:
        while not appended.is_set():
            for case_id in cases:
                try:
                    result = ledger.verify_case(str(case_id))
                except NotFoundError:
                    continue
                checks.append(result.events)
                if not result.ok:
                    failures.append(result)

    threads = [threading.Thread(target=f) for f in (append, sign, verify, verify)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.checkpointer.checkpoint_now()
    final = [ledger.verify_case(str(c)) for c in cases]
    ledger.close()

    assert failures == []
    assert checks
    assert all(v.ok for v in final)
    assert [v.events for v in final] == [45, 30, 15]

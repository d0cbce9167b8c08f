"""The entry log every voiding aggregate keeps: what was recorded, what a later voiding voided,
and the refusals no service lets through (an unknown entry, a second voiding, a voiding's)."""

from __future__ import annotations

from functools import reduce
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, event

from shared.kit.domain import VoidableEntries


class UnknownError(Exception):
    pass


class TwiceError(Exception):
    pass


class NotVoidableError(Exception):
    pass


class Notebook(Aggregate, VoidableEntries[str]):
    """An aggregate whose entries are lines of text; lines starting with `~` are someone else's."""

    unknown_entry_error = UnknownError
    voided_twice_error = TwiceError
    not_voidable_error = NotVoidableError

    @event("Opened")
    def __init__(self) -> None:
        self._open_log()

    def write(self, text: str) -> UUID:
        line_id = uuid4()
        self._written(line_id=line_id, text=text)
        return line_id

    @event("Written")
    def _written(self, line_id: UUID, text: str) -> None:
        self._log_entry(line_id, text)

    def void(self, line_id: UUID) -> UUID:
        self.voidable(line_id)
        voiding_id = uuid4()
        self._voided(line_id=line_id, voiding_id=voiding_id)
        return voiding_id

    @event("Voided")
    def _voided(self, line_id: UUID, voiding_id: UUID) -> None:
        self._log_voiding(line_id, voiding_id, f"voids {self.entry_log[line_id]}")

    def _may_void(self, entry: str) -> bool:
        return not entry.startswith("~")


def test_a_voided_entry_leaves_the_live_ones_and_stays_in_the_log() -> None:
    book = Notebook()
    first, second = book.write("one"), book.write("two")

    voiding = book.void(first)

    assert book.live_entries() == ["two", "voids one"]
    assert book.entries == ["one", "two", "voids one"]
    assert (book.is_voided(first), book.is_voided(second)) == (True, False)
    assert book.voided_by == {first: voiding}


def test_live_entries_can_leave_one_out_to_preview_its_voiding() -> None:
    book = Notebook()
    first = book.write("one")
    book.write("two")

    assert book.live_entries(leaving_out=first) == ["two"]
    assert book.live_entries() == ["one", "two"]


@pytest.mark.parametrize(
    ("case", "error"),
    [("unknown", UnknownError), ("not ours", UnknownError), ("twice", TwiceError),
     ("a voiding", NotVoidableError)],
)  # fmt: skip
def test_the_log_refuses_what_no_service_may_void(case: str, error: type[Exception]) -> None:
    book = Notebook()
    line = book.write("one")
    voiding = book.void(line)
    target = {"unknown": uuid4(), "not ours": book.write("~theirs"), "twice": line}.get(
        case, voiding
    )

    with pytest.raises(error):
        book.voidable(target)


def test_the_replayed_log_equals_the_live_one() -> None:
    book = Notebook()
    book.void(book.write("one"))
    book.write("two")
    events = book.collect_events()

    replayed: Any = reduce(lambda agg, e: e.mutate(agg), events, None)

    assert (replayed.entry_log, replayed.voided_by) == (book.entry_log, book.voided_by)

"""Waiting for what happens asynchronously (relays, consumers): `eventually`, never a sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["eventually"]


def eventually(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Wait until `predicate()` is truthy and return it; fail the test after `timeout` seconds.

    An `AssertionError` inside the predicate counts as not yet; the value returned is always
    truthy, so what follows may rely on it.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except AssertionError:
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")

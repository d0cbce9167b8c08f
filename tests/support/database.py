"""The database behind a service's back: a connection as its owner, and settings altered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from shared.kit.settings import Settings

__all__ = ["owner", "settings_with"]


def settings_with(settings: Settings, **overrides: Any) -> Settings:
    """The same settings (same database, stream and prefix), with `overrides`."""
    return Settings(**{**settings.model_dump(), **overrides})


@contextmanager
def owner(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """A connection as the database owner (autocommit), as someone behind the ledger's back."""
    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        yield conn

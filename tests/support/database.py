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


@contextmanager
def ledger_role(settings: Settings) -> Iterator[Settings]:
    """Settings that connect as a fresh role made by `grant_ledger_role`, the insert-and-read-only
    role the ledger runs as in production (`caseline ledger-role`); dropped afterwards."""
    from uuid import uuid4

    from psycopg import sql

    from services.ledger.schema import create_owned_tables, grant_ledger_role

    role = f"caseline_ledger_{uuid4().hex[:8]}"
    create_owned_tables(settings)
    with owner(settings) as conn:
        grant_ledger_role(conn, role)
    db = settings.database
    try:
        yield settings_with(
            settings, database_url=f"postgresql://{role}@{db.host}:{db.port}/{db.dbname}"
        )
    finally:
        with owner(settings) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))

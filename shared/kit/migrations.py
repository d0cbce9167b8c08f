"""Each service's schema carries a version: numbered migration files, run in order at start-up.

A service's migrations live in `services/<name>/migrations/NNNN_name.sql`; `0001_baseline.sql` is
the schema as the release before versions made it (a database of that release is adopted). Each
runs in its own transaction and is recorded in `<schema>.schema_migrations` with its checksum;
concurrent starters queue on an advisory lock. A database newer than the code, or an applied file
that changed, stops the start. A line `-- caseline: rebuild-view <table>` makes the migration drop
that read model, create it anew and refold it from the service's own event store, in the
migration's transaction.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from shared.kit.settings import Settings

__all__ = [
    "Applied",
    "Migration",
    "MigrationError",
    "Migrator",
    "migrations_folder",
    "open_migrated",
    "read_migrations",
]

T = TypeVar("T")
log = logging.getLogger("caseline.migrations")

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_REBUILD = re.compile(r"^--\s*caseline:\s*rebuild-view\s+([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_CREATES = re.compile(r"CREATE TABLE IF NOT EXISTS\s+([\w\".]+)", re.IGNORECASE)
_ROOT = Path(__file__).resolve().parents[2]


class MigrationError(RuntimeError):
    """The database and the code disagree about the schema: the service must not start."""


@dataclass(frozen=True)
class Migration:
    """One migration file: its version, name, text, and the views it rebuilds."""

    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def rebuild_views(self) -> tuple[str, ...]:
        return tuple(_REBUILD.findall(self.text))

    @property
    def creates(self) -> tuple[str, ...]:
        """The tables the migration creates (`schema.table`): the first tells an adopted baseline."""
        return tuple(name.replace('"', "") for name in _CREATES.findall(self.text))


@dataclass(frozen=True)
class Applied:
    """A row of `schema_migrations`."""

    version: int
    name: str
    checksum: str
    applied_at: Any
    adopted: bool


def migrations_folder(settings: Settings, service: str) -> Path:
    """Where a service's migrations are: `services/<name>/migrations`, or the configured folder's
    `<name>/` (`CASELINE_MIGRATIONS_DIR`, e.g. a staged release's files)."""
    if settings.migrations_dir:
        return Path(settings.migrations_dir) / service
    return _ROOT / "services" / service / "migrations"


def read_migrations(folder: Path) -> list[Migration]:
    """The migration files of a folder, in version order; a repeated version is refused."""
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")) if folder.is_dir() else ():
        match = _FILE.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{folder}: two migrations numbered {version:04d}")
        found[version] = Migration(version, match.group(2), path.read_text())
    return [found[v] for v in sorted(found)]


_TABLE = """
CREATE TABLE {table} (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    adopted boolean NOT NULL DEFAULT false
)"""


class Migrator:
    """Brings one service's schema to the version its migration files reach."""

    def __init__(self, settings: Settings, schema: str, folder: Path | None = None) -> None:
        self.settings = settings
        self.schema = schema
        self.migrations = read_migrations(folder or migrations_folder(settings, schema))
        self.table = sql.Identifier(schema, "schema_migrations")

    # --- reading ------------------------------------------------------------------------------

    def applied(self, conn: psycopg.Connection[Any]) -> list[Applied]:
        """The recorded migrations (none when the schema has no version table yet)."""
        row = conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".schema_migrations',))
        if row.fetchone() == (None,):
            return []
        rows = conn.execute(
            sql.SQL(
                "SELECT version, name, checksum, applied_at, adopted FROM {} ORDER BY version"
            ).format(self.table)
        ).fetchall()
        return [Applied(*r) for r in rows]

    def status(self) -> list[str]:
        """One line per migration: applied (when, or adopted), or pending; and unknown ones."""
        with psycopg.connect(self.settings.database.conninfo(), autocommit=True) as conn:
            applied = {a.version: a for a in self.applied(conn)}
        lines = []
        for m in self.migrations:
            a = applied.pop(m.version, None)
            if a is None:
                state = "pending"
            else:
                state = "adopted" if a.adopted else f"applied {a.applied_at:%Y-%m-%d %H:%M:%S}"
                if a.checksum != m.checksum:
                    state += ", FILE CHANGED since"
            lines.append(f"{self.schema:<11} {m.version:04d} {m.name:<28} {state}")
        lines += [
            f"{self.schema:<11} {a.version:04d} {a.name:<28} applied, UNKNOWN to this code"
            for a in applied.values()
        ]
        return lines

    def check(self, applied: list[Applied]) -> None:
        """Refuse a database newer than the code, or an applied migration whose file changed."""
        known = {m.version: m for m in self.migrations}
        newest = max(known, default=0)
        for a in applied:
            m = known.get(a.version)
            if m is None or a.version > newest:
                raise MigrationError(
                    f"the {self.schema} schema is at version {a.version} ({a.name}), newer than"
                    f" this release knows (up to {newest}): run the release that made it"
                )
            if a.checksum != m.checksum:
                raise MigrationError(
                    f"migration {a.version:04d}_{a.name} of {self.schema} was applied from a"
                    " different file (its checksum changed): restore the file as it was applied"
                )

    # --- running ------------------------------------------------------------------------------

    def run(self, open_app: Callable[[], T] | None = None) -> tuple[list[str], T | None]:
        """Apply what is pending, then (still holding the lock) open the application.

        Returns the migrations applied (`NNNN_name`, `(adopted)` for a recognised baseline) and
        the application `open_app` made (None without one). A migration that rebuilds a view
        needs the application; it is opened before that migration runs.
        """
        done: list[str] = []
        app: T | None = None
        with psycopg.connect(self.settings.database.conninfo(), autocommit=True) as conn:
            # Every starter of this schema queues here: one applies, the others then find it done.
            conn.execute("SELECT pg_advisory_lock(hashtext('caseline.migrations'), hashtext(%s))",
                         (self.schema,))  # fmt: skip
            try:
                applied = self.applied(conn)
                self.check(applied)
                pending = self._pending(conn, applied, done)
                for m in pending:
                    if m.rebuild_views and app is None:
                        if open_app is None:
                            raise MigrationError(
                                f"{m.version:04d}_{m.name} rebuilds views: it needs the service"
                            )
                        app = open_app()
                    self._apply(conn, m, app)
                    done.append(f"{m.version:04d}_{m.name}")
                if app is None and open_app is not None:
                    app = open_app()
            finally:
                conn.execute(
                    "SELECT pg_advisory_unlock(hashtext('caseline.migrations'), hashtext(%s))",
                    (self.schema,),
                )
        return done, app

    def _pending(
        self, conn: psycopg.Connection[Any], applied: list[Applied], done: list[str]
    ) -> list[Migration]:
        if not self.migrations:
            return []
        versions = {a.version for a in applied}
        pending = [m for m in self.migrations if m.version not in versions]
        if applied or not pending:
            return pending
        baseline = self.migrations[0]
        self._ensure_table(conn)
        if self._adoptable(conn, baseline):
            # A database of the release before versions: its start-up made the baseline's tables
            # (those its options asked for). The baseline is idempotent, so it is run all the
            # same, filling what that start-up left out, and recorded as adopted.
            with conn.transaction():
                conn.execute(baseline.text)
                self._record(conn, baseline, adopted=True)
            done.append(f"{baseline.version:04d}_{baseline.name} (adopted)")
            return pending[1:]
        return pending

    def _adoptable(self, conn: psycopg.Connection[Any], baseline: Migration) -> bool:
        """Whether the baseline's first table (the event store, the ledger's entries) exists."""
        if not baseline.creates:
            return False
        row = conn.execute("SELECT to_regclass(%s)", (baseline.creates[0],)).fetchone()
        return row != (None,)

    def _ensure_table(self, conn: psycopg.Connection[Any]) -> None:
        # Looked up first: a service's role owns its schema but may not create schemas.
        if not conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)
        ).fetchone():
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
        exists = conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".schema_migrations',))
        if exists.fetchone() == (None,):
            conn.execute(sql.SQL(_TABLE).format(table=self.table))

    def _record(self, conn: Any, m: Migration, *, adopted: bool = False) -> None:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (version, name, checksum, adopted) VALUES (%s, %s, %s, %s)"
            ).format(self.table),
            (m.version, m.name, m.checksum, adopted),
        )

    def _apply(self, conn: psycopg.Connection[Any], m: Migration, app: Any) -> None:
        if not m.rebuild_views:
            with conn.transaction():
                conn.execute(m.text)
                self._record(conn, m)
            return
        # The statements, the rebuilt views and the version row: one transaction of the service.
        with app.store.datastore.transaction(commit=True) as curs:
            curs.execute(m.text)
            app.rebuild_view_tables(m.rebuild_views, curs)
            self._record(curs, m)


def open_migrated(settings: Settings, service: str, open_app: Callable[[], T]) -> T:
    """A service's start: its schema brought to this release's version, then its application."""
    done, app = Migrator(settings, service).run(open_app)
    if done:
        log.info("%s schema migrated: %s", service, ", ".join(done))
    if app is None:  # `run` opens the application whenever it is given a way to
        raise RuntimeError(f"{service}: the application was not opened")
    return app

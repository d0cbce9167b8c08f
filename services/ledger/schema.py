"""The ledger's tables, their append-only triggers, and the insert-and-read-only role it runs as.

The owner creates the tables once (`caseline ledger-role`); the restricted role never runs DDL.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from shared.kit.access_facts import ACCESS_TABLES
from shared.kit.access_facts import CREATE_STATEMENTS as ACCESS_DDL
from shared.kit.settings import Settings

__all__ = [
    "DELIVERY_TABLES",
    "OPERATOR_TABLES",
    "SCHEMA",
    "TABLES",
    "create_owned_tables",
    "create_tables",
    "grant_ledger_role",
    "tables_exist",
]

SCHEMA = "ledger"
TABLES = (
    "entries", "tree_nodes", "checkpoints", "cosignatures", "audit_anchors", "key_handovers",
)  # fmt: skip
OPERATOR_TABLES = ("key_handovers",)
"""What only the operator adds to, as the owner: the ledger's role reads it, never writes it."""
DELIVERY_TABLES = (
    "delivery_position", "delivery_parked", "webhook_endpoints", "webhook_deliveries",
)  # fmt: skip
"""Where the agencies' deliveries stand (`deliveries`, `webhooks`): positions, parked messages and
webhook attempts, so not append-only."""

_CREATE = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.entries (
    ledger_seq bigint PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    case_id text NOT NULL,
    case_seq integer NOT NULL,
    type text NOT NULL,
    event_time timestamptz NOT NULL,
    event_recorded_at timestamptz NOT NULL,
    appended_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    canonical bytea NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    UNIQUE (case_id, case_seq)
);
CREATE INDEX IF NOT EXISTS entries_appended_at ON {SCHEMA}.entries (appended_at);
CREATE TABLE IF NOT EXISTS {SCHEMA}.tree_nodes (
    level smallint NOT NULL,
    idx bigint NOT NULL,
    hash bytea NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.checkpoints (
    tree_size bigint PRIMARY KEY,
    root_hash bytea NOT NULL,
    heads_size bigint NOT NULL,
    heads_root bytea NOT NULL,
    signed_at timestamptz NOT NULL,
    key_id text NOT NULL,
    statement bytea NOT NULL,
    signature bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.cosignatures (
    tree_size bigint NOT NULL,
    witness text NOT NULL,
    key_id text NOT NULL,
    signature bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tree_size, witness)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.key_handovers (
    old_key_id text NOT NULL,
    new_key_id text NOT NULL,
    statement bytea NOT NULL,
    old_signature bytea NOT NULL,
    new_signature bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    version smallint NOT NULL DEFAULT 1,
    PRIMARY KEY (old_key_id, new_key_id, version),
    UNIQUE (old_key_id, version)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.audit_anchors (
    anchor_seq bigint PRIMARY KEY,
    service text NOT NULL,
    audit_seq bigint NOT NULL,
    audit_hash bytea NOT NULL,
    anchored_at timestamptz NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_anchors_service ON {SCHEMA}.audit_anchors (service, anchor_seq);
CREATE TABLE IF NOT EXISTS {SCHEMA}.delivery_position (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    delivered_seq bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.delivery_parked (
    agency text NOT NULL,
    ledger_seq bigint NOT NULL,
    stream_seq bigint NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    redelivered_at timestamptz,
    PRIMARY KEY (agency, ledger_seq)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.webhook_endpoints (
    agency text PRIMARY KEY,
    url text NOT NULL,
    master_kid text NOT NULL,
    secret bytea NOT NULL,
    previous_secret bytea,
    previous_until timestamptz,
    enqueued_seq bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.webhook_deliveries (
    agency text NOT NULL,
    ledger_seq bigint NOT NULL,
    case_id text NOT NULL,
    message_id text NOT NULL,
    state text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    first_tried_at timestamptz,
    next_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_error text,
    delivered_at timestamptz,
    PRIMARY KEY (agency, ledger_seq)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_open
    ON {SCHEMA}.webhook_deliveries (agency, case_id, ledger_seq) WHERE state IN ('pending', 'parked');
CREATE OR REPLACE FUNCTION {SCHEMA}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END $$;
"""

_TRIGGERS = """
DROP TRIGGER IF EXISTS {table}_append_only ON {schema}.{table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {schema}.{table}
    FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change();
DROP TRIGGER IF EXISTS {table}_no_truncate ON {schema}.{table};
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {schema}.{table}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_change();
"""


def tables_exist(conn: psycopg.Connection[Any]) -> bool:
    """Whether every ledger table is there (then a restricted role need not create anything)."""
    names = [f"{SCHEMA}.{t}" for t in (*TABLES, *ACCESS_TABLES, *DELIVERY_TABLES)]
    row = conn.execute(
        "SELECT bool_and(to_regclass(n) IS NOT NULL) FROM unnest(%s::text[]) AS n", (names,)
    ).fetchone()
    return bool(row and row[0])


def create_tables(conn: psycopg.Connection[Any]) -> None:
    """Create the schema, the tables and their append-only triggers (idempotent; as the owner)."""
    conn.execute(_CREATE)
    for table in TABLES:
        conn.execute(_TRIGGERS.format(schema=SCHEMA, table=table))
    # Who may see which case: derived from the entries, so not append-only (a voiding deletes).
    for statement in ACCESS_DDL:
        conn.execute(statement.replace("{schema}", SCHEMA))


def grant_ledger_role(
    conn: psycopg.Connection[Any],
    role: str = "caseline_ledger",
    password: str | None = None,
) -> None:
    """Create (or fix) a login role that may only read and insert into the ledger's tables (and
    only read `OPERATOR_TABLES`).

    Run as the owner, after the read audit's tables exist in the schema (`caseline ledger-role`
    makes both); the ledger then connects as `role`.
    """
    create_tables(conn)
    ident = sql.Identifier(role)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
    if password is not None:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(password)))
    conn.execute(
        sql.SQL("ALTER ROLE {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS").format(ident)
    )
    schema = sql.Identifier(SCHEMA)
    conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, ident))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, ident))
    # Every table of the schema: the ledger's own and the kit's read audit beside them.
    conn.execute(
        sql.SQL("GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, ident)
    )
    conn.execute(
        sql.SQL("GRANT DELETE ON {} TO {}").format(
            sql.SQL(", ").join(sql.Identifier(SCHEMA, t) for t in ACCESS_TABLES), ident
        )
    )
    if conn.execute("SELECT to_regclass('ledger.schema_migrations')").fetchone() != (None,):
        conn.execute(sql.SQL("REVOKE INSERT ON ledger.schema_migrations FROM {}").format(ident))
    # A handover of the checkpoint key is recorded by the operator (`caseline keys
    # rotate-ledger`, as the owner), never by the running ledger: a process taken over could
    # otherwise record one that disagrees with the genuine handover, and so make every verifier
    # distrust the old key's checkpoints.
    conn.execute(
        sql.SQL("REVOKE INSERT ON {} FROM {}").format(
            sql.SQL(", ").join(sql.Identifier(SCHEMA, t) for t in OPERATOR_TABLES), ident
        )
    )
    conn.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, ident))
    conn.execute(
        sql.SQL("GRANT UPDATE, DELETE ON {} TO {}").format(
            sql.SQL(", ").join(sql.Identifier(SCHEMA, t) for t in DELIVERY_TABLES), ident
        )
    )
    _grant_key_reading(conn, ident)


def _grant_key_reading(conn: psycopg.Connection[Any], ledger: sql.Identifier) -> None:
    """The ledger reads per-case keys (to show personal fields to those who may see them); it
    never adds or erases one. The key table is made here if no service has made it yet, and the
    services' roles (where they exist) keep their rights on it."""
    from shared.kit.keystore import KEYSTORE_DDL

    conn.execute(KEYSTORE_DDL)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA keystore TO {}").format(ledger))
    conn.execute(sql.SQL("GRANT SELECT ON keystore.case_keys TO {}").format(ledger))
    services = [
        r[0]
        for r in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
            (
                [
                    "caseline_intake",
                    "caseline_judicial",
                    "caseline_assessment",
                    "caseline_programmes",
                ],
            ),
        )
    ]
    for role in services:
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE ON keystore.case_keys TO {}").format(
                sql.Identifier(role)
            )
        )


def create_owned_tables(settings: Settings) -> None:
    """As the owner: the ledger's migrations, tables and the kit's read-audit tables in the ledger's schema."""
    from shared.kit.audit import AuditLog
    from shared.kit.clock import Clock
    from shared.kit.migrations import Migrator

    # The versioned schema first (services/ledger/migrations): what the restricted role then
    # finds at its start, up to date, so that it never needs to run DDL.
    Migrator(settings, SCHEMA).run()
    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        create_tables(conn)
    audit = AuditLog(settings, SCHEMA, Clock().now)
    try:
        audit.create()
    finally:
        audit.close()

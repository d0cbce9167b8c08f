-- The ledger schema as the release before schema versions made it: the append-only entries,
-- the Merkle tree, checkpoints and cosignatures, audit anchors, deliveries, case access and
-- the read audit. A database made by that release is adopted: recorded as applied, not run.

CREATE TABLE IF NOT EXISTS ledger.entries (
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

CREATE INDEX IF NOT EXISTS entries_appended_at ON ledger.entries (appended_at);

CREATE TABLE IF NOT EXISTS ledger.tree_nodes (
    level smallint NOT NULL,
    idx bigint NOT NULL,
    hash bytea NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE IF NOT EXISTS ledger.checkpoints (
    tree_size bigint PRIMARY KEY,
    root_hash bytea NOT NULL,
    heads_size bigint NOT NULL,
    heads_root bytea NOT NULL,
    signed_at timestamptz NOT NULL,
    key_id text NOT NULL,
    statement bytea NOT NULL,
    signature bytea NOT NULL
);

CREATE TABLE IF NOT EXISTS ledger.cosignatures (
    tree_size bigint NOT NULL,
    witness text NOT NULL,
    key_id text NOT NULL,
    signature bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tree_size, witness)
);

CREATE TABLE IF NOT EXISTS ledger.audit_anchors (
    anchor_seq bigint PRIMARY KEY,
    service text NOT NULL,
    audit_seq bigint NOT NULL,
    audit_hash bytea NOT NULL,
    anchored_at timestamptz NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);

CREATE INDEX IF NOT EXISTS audit_anchors_service ON ledger.audit_anchors (service, anchor_seq);

CREATE TABLE IF NOT EXISTS ledger.delivery_position (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    delivered_seq bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS ledger.delivery_noted (
    first_seq bigint PRIMARY KEY,
    last_seq bigint NOT NULL
);

CREATE OR REPLACE FUNCTION ledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END $$;

DROP TRIGGER IF EXISTS entries_append_only ON ledger.entries;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON ledger.entries
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();

DROP TRIGGER IF EXISTS entries_no_truncate ON ledger.entries;

CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON ledger.entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

DROP TRIGGER IF EXISTS tree_nodes_append_only ON ledger.tree_nodes;

CREATE TRIGGER tree_nodes_append_only BEFORE UPDATE OR DELETE ON ledger.tree_nodes
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();

DROP TRIGGER IF EXISTS tree_nodes_no_truncate ON ledger.tree_nodes;

CREATE TRIGGER tree_nodes_no_truncate BEFORE TRUNCATE ON ledger.tree_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

DROP TRIGGER IF EXISTS checkpoints_append_only ON ledger.checkpoints;

CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger.checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();

DROP TRIGGER IF EXISTS checkpoints_no_truncate ON ledger.checkpoints;

CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON ledger.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

DROP TRIGGER IF EXISTS cosignatures_append_only ON ledger.cosignatures;

CREATE TRIGGER cosignatures_append_only BEFORE UPDATE OR DELETE ON ledger.cosignatures
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();

DROP TRIGGER IF EXISTS cosignatures_no_truncate ON ledger.cosignatures;

CREATE TRIGGER cosignatures_no_truncate BEFORE TRUNCATE ON ledger.cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

DROP TRIGGER IF EXISTS audit_anchors_append_only ON ledger.audit_anchors;

CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON ledger.audit_anchors
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();

DROP TRIGGER IF EXISTS audit_anchors_no_truncate ON ledger.audit_anchors;

CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON ledger.audit_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

CREATE TABLE IF NOT EXISTS ledger.case_access ( ord bigserial, case_id text NOT NULL, principal text NOT NULL, kind text NOT NULL, event_id uuid NOT NULL, PRIMARY KEY (case_id, principal, kind, event_id));

CREATE INDEX IF NOT EXISTS case_access_principal ON ledger.case_access (principal, case_id);

CREATE INDEX IF NOT EXISTS case_access_event ON ledger.case_access (event_id);

CREATE TABLE IF NOT EXISTS ledger.access_voided (event_id uuid PRIMARY KEY);

CREATE TABLE IF NOT EXISTS ledger.programme_providers ( programme_id text PRIMARY KEY, agency text NOT NULL);

CREATE TABLE IF NOT EXISTS ledger.sealed_cases ( case_id text PRIMARY KEY, sealed_at timestamptz NOT NULL, event_id uuid NOT NULL);

CREATE TABLE IF NOT EXISTS "ledger".read_audit (
    seq bigint PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    agency text NOT NULL,
    role text NOT NULL,
    case_id text,
    route text NOT NULL,
    purpose text,
    outcome text NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);

ALTER TABLE "ledger".read_audit ADD COLUMN IF NOT EXISTS case_ids text[];

CREATE INDEX IF NOT EXISTS read_audit_case ON "ledger".read_audit (case_id, seq);

CREATE INDEX IF NOT EXISTS read_audit_case_ids ON "ledger".read_audit USING gin (case_ids);

CREATE INDEX IF NOT EXISTS read_audit_actor ON "ledger".read_audit (actor, seq);

CREATE OR REPLACE FUNCTION "ledger".read_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the read audit is append-only: % refused', TG_OP;
END $$;

DROP TRIGGER IF EXISTS read_audit_append_only ON "ledger".read_audit;

CREATE TRIGGER read_audit_append_only BEFORE UPDATE OR DELETE ON "ledger".read_audit
    FOR EACH ROW EXECUTE FUNCTION "ledger".read_audit_append_only();

DROP TRIGGER IF EXISTS read_audit_no_truncate ON "ledger".read_audit;

CREATE TRIGGER read_audit_no_truncate BEFORE TRUNCATE ON "ledger".read_audit
    FOR EACH STATEMENT EXECUTE FUNCTION "ledger".read_audit_append_only();

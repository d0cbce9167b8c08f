-- The intake schema as the release before schema versions made it at start-up:
-- the event store (the eventsourcing library's table), idempotency keys, inbound and relay
-- positions, the read models, case access, reconciliation and the read audit.
-- A database made by that release is adopted: this is recorded as applied, not run.

CREATE TABLE IF NOT EXISTS "intake"."intake_events" (originator_id "uuid" NOT NULL, originator_version bigint NOT NULL, topic text, state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version)) WITH (    autovacuum_enabled = true,    autovacuum_vacuum_threshold = 100000000,    autovacuum_vacuum_scale_factor = 0.5,    autovacuum_analyze_threshold = 1000,    autovacuum_analyze_scale_factor = 0.01);

DO $$ BEGIN CREATE TYPE "intake"."stored_event_uuid" AS (originator_id "uuid", originator_version bigint, topic text, state bytea); EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE UNIQUE INDEX IF NOT EXISTS "intake_events_notification_id_idx" ON "intake"."intake_events" (notification_id ASC);

CREATE OR REPLACE FUNCTION "intake"."es_insert_events_uuid"(events "intake"."stored_event_uuid"[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$BEGIN    SET LOCAL lock_timeout = '10s';    NOTIFY "intake_events";    RETURN QUERY    INSERT INTO "intake"."intake_events" AS t (    originator_id, originator_version, topic, state)    SELECT originator_id, originator_version, topic, state    FROM unnest(events)    RETURNING notification_id;END;$BODY$;

CREATE TABLE IF NOT EXISTS "intake".idempotency ( key text PRIMARY KEY, fingerprint text NOT NULL, status int NOT NULL, body jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "intake".inbound ( consumer text NOT NULL, event_id uuid NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id));

CREATE TABLE IF NOT EXISTS "intake".relay_position ( id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "intake".entry_index ( event_id uuid PRIMARY KEY, aggregate_id uuid NOT NULL, version bigint NOT NULL, subject text NOT NULL, type text NOT NULL, actor text NOT NULL, recorded_at timestamptz NOT NULL, agency text);

DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"intake".entry_index'::regclass AND attname = 'agency' AND NOT attisdropped) THEN ALTER TABLE "intake".entry_index ADD COLUMN agency text; END IF; END $$;

CREATE TABLE IF NOT EXISTS "intake".case_access ( ord bigserial, case_id text NOT NULL, principal text NOT NULL, kind text NOT NULL, event_id uuid NOT NULL, PRIMARY KEY (case_id, principal, kind, event_id));

CREATE INDEX IF NOT EXISTS case_access_principal ON "intake".case_access (principal, case_id);

CREATE INDEX IF NOT EXISTS case_access_event ON "intake".case_access (event_id);

CREATE TABLE IF NOT EXISTS "intake".access_voided (event_id uuid PRIMARY KEY);

CREATE TABLE IF NOT EXISTS "intake".programme_providers ( programme_id text PRIMARY KEY, agency text NOT NULL);

CREATE TABLE IF NOT EXISTS "intake".sealed_cases ( case_id text PRIMARY KEY, sealed_at timestamptz NOT NULL, event_id uuid NOT NULL);

CREATE TABLE IF NOT EXISTS "intake".case_register ( case_id uuid PRIMARY KEY, name_kid text, name_ct bytea, arrested_at timestamptz NOT NULL, returning_foreign_fighter boolean NOT NULL, status text NOT NULL, facility text, version int NOT NULL, updated_at timestamptz NOT NULL);

CREATE INDEX IF NOT EXISTS case_register_arrested ON "intake".case_register (arrested_at DESC, case_id);

CREATE INDEX IF NOT EXISTS case_register_facility ON "intake".case_register (facility);

CREATE TABLE IF NOT EXISTS "intake".pending_erasures ( case_id uuid PRIMARY KEY, recorded_at timestamptz NOT NULL);

CREATE TABLE IF NOT EXISTS "intake".reconcile_position ( id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "intake".read_audit (
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

ALTER TABLE "intake".read_audit ADD COLUMN IF NOT EXISTS case_ids text[];

CREATE INDEX IF NOT EXISTS read_audit_case ON "intake".read_audit (case_id, seq);

CREATE INDEX IF NOT EXISTS read_audit_case_ids ON "intake".read_audit USING gin (case_ids);

CREATE INDEX IF NOT EXISTS read_audit_actor ON "intake".read_audit (actor, seq);

CREATE OR REPLACE FUNCTION "intake".read_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the read audit is append-only: % refused', TG_OP;
END $$;

DROP TRIGGER IF EXISTS read_audit_append_only ON "intake".read_audit;

CREATE TRIGGER read_audit_append_only BEFORE UPDATE OR DELETE ON "intake".read_audit
    FOR EACH ROW EXECUTE FUNCTION "intake".read_audit_append_only();

DROP TRIGGER IF EXISTS read_audit_no_truncate ON "intake".read_audit;

CREATE TRIGGER read_audit_no_truncate BEFORE TRUNCATE ON "intake".read_audit
    FOR EACH STATEMENT EXECUTE FUNCTION "intake".read_audit_append_only();

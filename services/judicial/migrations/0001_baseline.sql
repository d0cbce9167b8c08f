-- The judicial schema as the release before schema versions made it at start-up:
-- the event store (the eventsourcing library's table), idempotency keys, inbound and relay
-- positions, the read models, case access, reconciliation and the read audit.
-- A database made by that release is adopted: this is recorded as applied, not run.

CREATE TABLE IF NOT EXISTS "judicial"."judicial_events" (originator_id "uuid" NOT NULL, originator_version bigint NOT NULL, topic text, state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version)) WITH (    autovacuum_enabled = true,    autovacuum_vacuum_threshold = 100000000,    autovacuum_vacuum_scale_factor = 0.5,    autovacuum_analyze_threshold = 1000,    autovacuum_analyze_scale_factor = 0.01);

DO $$ BEGIN CREATE TYPE "judicial"."stored_event_uuid" AS (originator_id "uuid", originator_version bigint, topic text, state bytea); EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE UNIQUE INDEX IF NOT EXISTS "judicial_events_notification_id_idx" ON "judicial"."judicial_events" (notification_id ASC);

CREATE OR REPLACE FUNCTION "judicial"."es_insert_events_uuid"(events "judicial"."stored_event_uuid"[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$BEGIN    SET LOCAL lock_timeout = '10s';    NOTIFY "judicial_events";    RETURN QUERY    INSERT INTO "judicial"."judicial_events" AS t (    originator_id, originator_version, topic, state)    SELECT originator_id, originator_version, topic, state    FROM unnest(events)    RETURNING notification_id;END;$BODY$;

CREATE TABLE IF NOT EXISTS "judicial".idempotency ( key text PRIMARY KEY, fingerprint text NOT NULL, status int NOT NULL, body jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "judicial".inbound ( consumer text NOT NULL, event_id uuid NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id));

CREATE TABLE IF NOT EXISTS "judicial".relay_position ( id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "judicial".entry_index ( event_id uuid PRIMARY KEY, aggregate_id uuid NOT NULL, version bigint NOT NULL, subject text NOT NULL, type text NOT NULL, actor text NOT NULL, recorded_at timestamptz NOT NULL, agency text);

DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"judicial".entry_index'::regclass AND attname = 'agency' AND NOT attisdropped) THEN ALTER TABLE "judicial".entry_index ADD COLUMN agency text; END IF; END $$;

CREATE TABLE IF NOT EXISTS "judicial".case_access ( ord bigserial, case_id text NOT NULL, principal text NOT NULL, kind text NOT NULL, event_id uuid NOT NULL, PRIMARY KEY (case_id, principal, kind, event_id));

CREATE INDEX IF NOT EXISTS case_access_principal ON "judicial".case_access (principal, case_id);

CREATE INDEX IF NOT EXISTS case_access_event ON "judicial".case_access (event_id);

CREATE TABLE IF NOT EXISTS "judicial".access_voided (event_id uuid PRIMARY KEY);

CREATE TABLE IF NOT EXISTS "judicial".programme_providers ( programme_id text PRIMARY KEY, agency text NOT NULL);

CREATE TABLE IF NOT EXISTS "judicial".sealed_cases ( case_id text PRIMARY KEY, sealed_at timestamptz NOT NULL, event_id uuid NOT NULL);

CREATE TABLE IF NOT EXISTS "judicial".judicial_cases ( case_id uuid PRIMARY KEY, arrested_at timestamptz NOT NULL, facility text, register_number text, stage text NOT NULL, offence_class text, verdict_outcome text, verdict_at timestamptz, sealed boolean NOT NULL, released_at timestamptz, version int NOT NULL, updated_at timestamptz NOT NULL);

CREATE INDEX IF NOT EXISTS judicial_cases_arrested ON "judicial".judicial_cases (arrested_at DESC, case_id);

CREATE INDEX IF NOT EXISTS judicial_cases_unsealed ON "judicial".judicial_cases (verdict_at) WHERE NOT sealed AND verdict_outcome IS NOT NULL;

CREATE TABLE IF NOT EXISTS "judicial".deadlines ( case_id uuid NOT NULL, kind text NOT NULL, facility text, register_number text, source_event_id uuid NOT NULL, started_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, alert_from timestamptz NOT NULL, renewals int NOT NULL, ended_at timestamptz, ended_by text, breach_detected_at timestamptz, legal_source text, version int NOT NULL, PRIMARY KEY (case_id, kind));

CREATE INDEX IF NOT EXISTS deadlines_open ON "judicial".deadlines (expires_at) WHERE ended_at IS NULL;

CREATE INDEX IF NOT EXISTS deadlines_unbreached ON "judicial".deadlines (expires_at) WHERE breach_detected_at IS NULL;

CREATE TABLE IF NOT EXISTS "judicial".reconcile_position ( id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "judicial".read_audit (
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

ALTER TABLE "judicial".read_audit ADD COLUMN IF NOT EXISTS case_ids text[];

CREATE INDEX IF NOT EXISTS read_audit_case ON "judicial".read_audit (case_id, seq);

CREATE INDEX IF NOT EXISTS read_audit_case_ids ON "judicial".read_audit USING gin (case_ids);

CREATE INDEX IF NOT EXISTS read_audit_actor ON "judicial".read_audit (actor, seq);

CREATE OR REPLACE FUNCTION "judicial".read_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the read audit is append-only: % refused', TG_OP;
END $$;

DROP TRIGGER IF EXISTS read_audit_append_only ON "judicial".read_audit;

CREATE TRIGGER read_audit_append_only BEFORE UPDATE OR DELETE ON "judicial".read_audit
    FOR EACH ROW EXECUTE FUNCTION "judicial".read_audit_append_only();

DROP TRIGGER IF EXISTS read_audit_no_truncate ON "judicial".read_audit;

CREATE TRIGGER read_audit_no_truncate BEFORE TRUNCATE ON "judicial".read_audit
    FOR EACH STATEMENT EXECUTE FUNCTION "judicial".read_audit_append_only();

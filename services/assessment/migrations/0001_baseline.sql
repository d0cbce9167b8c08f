-- The assessment schema as the release before schema versions made it at start-up:
-- the event store (the eventsourcing library's table), idempotency keys, inbound and relay
-- positions, the read models, case access, reconciliation and the read audit.
-- A database made by that release is adopted: this is recorded as applied, not run.

CREATE TABLE IF NOT EXISTS "assessment"."assessment_events" (originator_id "uuid" NOT NULL, originator_version bigint NOT NULL, topic text, state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version)) WITH (    autovacuum_enabled = true,    autovacuum_vacuum_threshold = 100000000,    autovacuum_vacuum_scale_factor = 0.5,    autovacuum_analyze_threshold = 1000,    autovacuum_analyze_scale_factor = 0.01);

DO $$ BEGIN CREATE TYPE "assessment"."stored_event_uuid" AS (originator_id "uuid", originator_version bigint, topic text, state bytea); EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE UNIQUE INDEX IF NOT EXISTS "assessment_events_notification_id_idx" ON "assessment"."assessment_events" (notification_id ASC);

CREATE OR REPLACE FUNCTION "assessment"."es_insert_events_uuid"(events "assessment"."stored_event_uuid"[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$BEGIN    SET LOCAL lock_timeout = '10s';    NOTIFY "assessment_events";    RETURN QUERY    INSERT INTO "assessment"."assessment_events" AS t (    originator_id, originator_version, topic, state)    SELECT originator_id, originator_version, topic, state    FROM unnest(events)    RETURNING notification_id;END;$BODY$;

CREATE TABLE IF NOT EXISTS "assessment".idempotency ( key text PRIMARY KEY, fingerprint text NOT NULL, status int NOT NULL, body jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "assessment".inbound ( consumer text NOT NULL, event_id uuid NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id));

CREATE TABLE IF NOT EXISTS "assessment".relay_position ( id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "assessment".entry_index ( event_id uuid PRIMARY KEY, aggregate_id uuid NOT NULL, version bigint NOT NULL, subject text NOT NULL, type text NOT NULL, actor text NOT NULL, recorded_at timestamptz NOT NULL, agency text);

DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"assessment".entry_index'::regclass AND attname = 'agency' AND NOT attisdropped) THEN ALTER TABLE "assessment".entry_index ADD COLUMN agency text; END IF; END $$;

CREATE TABLE IF NOT EXISTS "assessment".case_access ( ord bigserial, case_id text NOT NULL, principal text NOT NULL, kind text NOT NULL, event_id uuid NOT NULL, PRIMARY KEY (case_id, principal, kind, event_id));

CREATE INDEX IF NOT EXISTS case_access_principal ON "assessment".case_access (principal, case_id);

CREATE INDEX IF NOT EXISTS case_access_event ON "assessment".case_access (event_id);

CREATE TABLE IF NOT EXISTS "assessment".access_voided (event_id uuid PRIMARY KEY);

CREATE TABLE IF NOT EXISTS "assessment".programme_providers ( programme_id text PRIMARY KEY, agency text NOT NULL);

CREATE TABLE IF NOT EXISTS "assessment".sealed_cases ( case_id text PRIMARY KEY, sealed_at timestamptz NOT NULL, event_id uuid NOT NULL);

CREATE TABLE IF NOT EXISTS "assessment".assessed_cases ( case_id uuid PRIMARY KEY, status text NOT NULL, facility text, current_risk text, risk_assessment_id uuid, risk_countersigned_at timestamptz, opened_at timestamptz NOT NULL, version int NOT NULL, updated_at timestamptz NOT NULL);

CREATE INDEX IF NOT EXISTS assessed_cases_facility ON "assessment".assessed_cases (facility);

CREATE INDEX IF NOT EXISTS assessed_cases_opened ON "assessment".assessed_cases (opened_at DESC, case_id);

CREATE TABLE IF NOT EXISTS "assessment".review_schedule ( event_id uuid PRIMARY KEY, case_id uuid NOT NULL, kind text NOT NULL, due_by timestamptz NOT NULL, trigger text NOT NULL, caused_by uuid, recorded_at timestamptz NOT NULL, satisfied_by uuid, satisfied_at timestamptz);

CREATE INDEX IF NOT EXISTS review_schedule_open ON "assessment".review_schedule (due_by) WHERE satisfied_by IS NULL;

CREATE INDEX IF NOT EXISTS review_schedule_case ON "assessment".review_schedule (case_id);

CREATE TABLE IF NOT EXISTS "assessment".placements ( event_id uuid PRIMARY KEY, case_id uuid NOT NULL, seq int NOT NULL, security_level text NOT NULL, keep_separate_from uuid[] NOT NULL, decided_by text NOT NULL, recorded_at timestamptz NOT NULL, voided boolean NOT NULL DEFAULT false);

CREATE INDEX IF NOT EXISTS placements_case ON "assessment".placements (case_id, seq DESC);

CREATE TABLE IF NOT EXISTS "assessment".instrument_versions ( instrument_id uuid NOT NULL, version int NOT NULL, title text NOT NULL, kind text, event_id uuid NOT NULL, published_by text NOT NULL, published_at timestamptz NOT NULL, document jsonb NOT NULL, PRIMARY KEY (instrument_id, version));

CREATE TABLE IF NOT EXISTS "assessment".reconcile_position ( id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "assessment".read_audit (
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

ALTER TABLE "assessment".read_audit ADD COLUMN IF NOT EXISTS case_ids text[];

CREATE INDEX IF NOT EXISTS read_audit_case ON "assessment".read_audit (case_id, seq);

CREATE INDEX IF NOT EXISTS read_audit_case_ids ON "assessment".read_audit USING gin (case_ids);

CREATE INDEX IF NOT EXISTS read_audit_actor ON "assessment".read_audit (actor, seq);

CREATE OR REPLACE FUNCTION "assessment".read_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the read audit is append-only: % refused', TG_OP;
END $$;

DROP TRIGGER IF EXISTS read_audit_append_only ON "assessment".read_audit;

CREATE TRIGGER read_audit_append_only BEFORE UPDATE OR DELETE ON "assessment".read_audit
    FOR EACH ROW EXECUTE FUNCTION "assessment".read_audit_append_only();

DROP TRIGGER IF EXISTS read_audit_no_truncate ON "assessment".read_audit;

CREATE TRIGGER read_audit_no_truncate BEFORE TRUNCATE ON "assessment".read_audit
    FOR EACH STATEMENT EXECUTE FUNCTION "assessment".read_audit_append_only();

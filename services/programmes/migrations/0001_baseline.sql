-- The programmes schema as the release before schema versions made it at start-up:
-- the event store (the eventsourcing library's table), idempotency keys, inbound and relay
-- positions, the read models, case access, reconciliation and the read audit.
-- A database made by that release is adopted: this is recorded as applied, not run.

CREATE TABLE IF NOT EXISTS "programmes"."programmes_events" (originator_id "uuid" NOT NULL, originator_version bigint NOT NULL, topic text, state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version)) WITH (    autovacuum_enabled = true,    autovacuum_vacuum_threshold = 100000000,    autovacuum_vacuum_scale_factor = 0.5,    autovacuum_analyze_threshold = 1000,    autovacuum_analyze_scale_factor = 0.01);

DO $$ BEGIN CREATE TYPE "programmes"."stored_event_uuid" AS (originator_id "uuid", originator_version bigint, topic text, state bytea); EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE UNIQUE INDEX IF NOT EXISTS "programmes_events_notification_id_idx" ON "programmes"."programmes_events" (notification_id ASC);

CREATE OR REPLACE FUNCTION "programmes"."es_insert_events_uuid"(events "programmes"."stored_event_uuid"[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$BEGIN    SET LOCAL lock_timeout = '10s';    NOTIFY "programmes_events";    RETURN QUERY    INSERT INTO "programmes"."programmes_events" AS t (    originator_id, originator_version, topic, state)    SELECT originator_id, originator_version, topic, state    FROM unnest(events)    RETURNING notification_id;END;$BODY$;

CREATE TABLE IF NOT EXISTS "programmes".idempotency ( key text PRIMARY KEY, fingerprint text NOT NULL, status int NOT NULL, body jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "programmes".inbound ( consumer text NOT NULL, event_id uuid NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id));

CREATE TABLE IF NOT EXISTS "programmes".relay_position ( id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "programmes".entry_index ( event_id uuid PRIMARY KEY, aggregate_id uuid NOT NULL, version bigint NOT NULL, subject text NOT NULL, type text NOT NULL, actor text NOT NULL, recorded_at timestamptz NOT NULL, agency text);

DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"programmes".entry_index'::regclass AND attname = 'agency' AND NOT attisdropped) THEN ALTER TABLE "programmes".entry_index ADD COLUMN agency text; END IF; END $$;

CREATE TABLE IF NOT EXISTS "programmes".case_access ( ord bigserial, case_id text NOT NULL, principal text NOT NULL, kind text NOT NULL, event_id uuid NOT NULL, PRIMARY KEY (case_id, principal, kind, event_id));

CREATE INDEX IF NOT EXISTS case_access_principal ON "programmes".case_access (principal, case_id);

CREATE INDEX IF NOT EXISTS case_access_event ON "programmes".case_access (event_id);

CREATE TABLE IF NOT EXISTS "programmes".access_voided (event_id uuid PRIMARY KEY);

CREATE TABLE IF NOT EXISTS "programmes".programme_providers ( programme_id text PRIMARY KEY, agency text NOT NULL);

CREATE TABLE IF NOT EXISTS "programmes".sealed_cases ( case_id text PRIMARY KEY, sealed_at timestamptz NOT NULL, event_id uuid NOT NULL);

CREATE TABLE IF NOT EXISTS "programmes".programme_catalogue ( programme_id uuid PRIMARY KEY, kind text NOT NULL, title text NOT NULL, provider_agency text NOT NULL, capacity int NOT NULL, max_risk_level text, facility text, attendance_threshold int NOT NULL, starts_on date, ends_on date, created_at timestamptz NOT NULL, voided boolean NOT NULL DEFAULT false, version int NOT NULL);

CREATE INDEX IF NOT EXISTS programme_catalogue_kind ON "programmes".programme_catalogue (kind, facility);

CREATE TABLE IF NOT EXISTS "programmes".participations ( participation_id uuid PRIMARY KEY, programme_id uuid NOT NULL, case_id uuid NOT NULL, enrolled_at timestamptz NOT NULL, status text NOT NULL, sessions_attended int NOT NULL DEFAULT 0, ended_at timestamptz, exit_event_id uuid, voided boolean NOT NULL DEFAULT false);

CREATE INDEX IF NOT EXISTS participations_programme ON "programmes".participations (programme_id, status);

CREATE INDEX IF NOT EXISTS participations_case ON "programmes".participations (case_id);

CREATE TABLE IF NOT EXISTS "programmes".attendance ( event_id uuid PRIMARY KEY, participation_id uuid NOT NULL, programme_id uuid NOT NULL, session_date date NOT NULL, voided boolean NOT NULL DEFAULT false);

CREATE INDEX IF NOT EXISTS attendance_programme ON "programmes".attendance (programme_id);

CREATE TABLE IF NOT EXISTS "programmes".case_register ( case_id uuid PRIMARY KEY, full_name text, facility text, released_at timestamptz, risk text, keep_separate_from uuid[] NOT NULL DEFAULT '{}', opened_at timestamptz NOT NULL, version int NOT NULL);

CREATE INDEX IF NOT EXISTS case_register_released ON "programmes".case_register (released_at);

CREATE INDEX IF NOT EXISTS case_register_apart ON "programmes".case_register USING gin (keep_separate_from);

CREATE TABLE IF NOT EXISTS "programmes".case_facts ( seq bigint NOT NULL, event_id uuid PRIMARY KEY, case_id uuid NOT NULL, kind text NOT NULL, facility text, released_at timestamptz, assessment_id uuid, risk text, keep_separate_from uuid[], voided boolean NOT NULL DEFAULT false);

CREATE INDEX IF NOT EXISTS case_facts_case ON "programmes".case_facts (case_id, kind);

CREATE TABLE IF NOT EXISTS "programmes".follow_ups ( event_id uuid PRIMARY KEY, case_id uuid NOT NULL, at timestamptz NOT NULL, status text NOT NULL, voided boolean NOT NULL DEFAULT false);

CREATE INDEX IF NOT EXISTS follow_ups_case ON "programmes".follow_ups (case_id, at);

CREATE TABLE IF NOT EXISTS "programmes".referrals ( referral_id uuid PRIMARY KEY, case_id uuid NOT NULL, from_agency text NOT NULL, to_agency text NOT NULL, reason_kid text, reason_ct bytea, status text NOT NULL, made_at timestamptz NOT NULL, made_event_id uuid NOT NULL, answer_event_id uuid, answered_at timestamptz);

CREATE INDEX IF NOT EXISTS referrals_to ON "programmes".referrals (to_agency, status);

CREATE INDEX IF NOT EXISTS referrals_from ON "programmes".referrals (from_agency, status);

CREATE TABLE IF NOT EXISTS "programmes".reconcile_position ( id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS "programmes".read_audit (
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

ALTER TABLE "programmes".read_audit ADD COLUMN IF NOT EXISTS case_ids text[];

CREATE INDEX IF NOT EXISTS read_audit_case ON "programmes".read_audit (case_id, seq);

CREATE INDEX IF NOT EXISTS read_audit_case_ids ON "programmes".read_audit USING gin (case_ids);

CREATE INDEX IF NOT EXISTS read_audit_actor ON "programmes".read_audit (actor, seq);

CREATE OR REPLACE FUNCTION "programmes".read_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the read audit is append-only: % refused', TG_OP;
END $$;

DROP TRIGGER IF EXISTS read_audit_append_only ON "programmes".read_audit;

CREATE TRIGGER read_audit_append_only BEFORE UPDATE OR DELETE ON "programmes".read_audit
    FOR EACH ROW EXECUTE FUNCTION "programmes".read_audit_append_only();

DROP TRIGGER IF EXISTS read_audit_no_truncate ON "programmes".read_audit;

CREATE TRIGGER read_audit_no_truncate BEFORE TRUNCATE ON "programmes".read_audit
    FOR EACH STATEMENT EXECUTE FUNCTION "programmes".read_audit_append_only();

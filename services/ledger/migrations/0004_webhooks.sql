-- Agencies' webhook endpoints and what each is owed (services/ledger/webhooks.py). Positions and
-- delivery states change, so these tables are not append-only. A secret is stored wrapped by the
-- master key (AES-GCM, the agency as associated data), never in clear.

CREATE TABLE IF NOT EXISTS ledger.webhook_endpoints (
    agency text PRIMARY KEY,
    url text NOT NULL,
    master_kid text NOT NULL,
    secret bytea NOT NULL,
    previous_secret bytea,
    previous_until timestamptz,
    enqueued_seq bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE IF NOT EXISTS ledger.webhook_deliveries (
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
    ON ledger.webhook_deliveries (agency, case_id, ledger_seq) WHERE state IN ('pending', 'parked');

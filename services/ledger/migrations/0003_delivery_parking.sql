-- Deliveries over JetStream: an entry's access facts are written in its append's transaction, so
-- the tail no longer waits for the intake's note (`delivery_noted` goes); a delivery an agency
-- did not ack `max_deliver` times is parked here until an operator delivers it again.

DROP TABLE IF EXISTS ledger.delivery_noted;

CREATE TABLE IF NOT EXISTS ledger.delivery_parked (
    agency text NOT NULL,
    ledger_seq bigint NOT NULL,
    stream_seq bigint NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    redelivered_at timestamptz,
    PRIMARY KEY (agency, ledger_seq)
);

-- Handovers of the checkpoint key (`caseline keys rotate-ledger`): the old key's and the new key's
-- signatures of the statement that the new key takes over. Append-only like every ledger table.

CREATE TABLE IF NOT EXISTS ledger.key_handovers (
    old_key_id text NOT NULL,
    new_key_id text NOT NULL,
    statement bytea NOT NULL,
    old_signature bytea NOT NULL,
    new_signature bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (old_key_id, new_key_id)
);

DROP TRIGGER IF EXISTS key_handovers_append_only ON ledger.key_handovers;

CREATE TRIGGER key_handovers_append_only BEFORE UPDATE OR DELETE ON ledger.key_handovers
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();

DROP TRIGGER IF EXISTS key_handovers_no_truncate ON ledger.key_handovers;

CREATE TRIGGER key_handovers_no_truncate BEFORE TRUNCATE ON ledger.key_handovers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

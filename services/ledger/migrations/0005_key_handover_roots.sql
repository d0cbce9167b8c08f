-- Handovers v2 of the checkpoint key name the root of the tree where the old key stopped, as well
-- as its size. A handover v1 on record is upgraded by recording its v2 beside it (same two keys;
-- append-only, the v1 stays), so the statement's version joins the primary key. Every handover
-- recorded before is a v1.

ALTER TABLE ledger.key_handovers ADD COLUMN IF NOT EXISTS version smallint NOT NULL DEFAULT 1;

ALTER TABLE ledger.key_handovers DROP CONSTRAINT IF EXISTS key_handovers_pkey;

ALTER TABLE ledger.key_handovers ADD CONSTRAINT key_handovers_pkey
    PRIMARY KEY (old_key_id, new_key_id, version);

-- One handover of a key a version: a key is handed over once, to one key (the ledger checks it
-- under its checkpoint lock; the table says it too).
ALTER TABLE ledger.key_handovers DROP CONSTRAINT IF EXISTS key_handovers_old_key_id_version_key;

ALTER TABLE ledger.key_handovers ADD CONSTRAINT key_handovers_old_key_id_version_key
    UNIQUE (old_key_id, version);

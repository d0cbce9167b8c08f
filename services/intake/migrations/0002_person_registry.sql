-- The person registry: which person each case names (case_persons) and the blind index of the
-- arrests' identities (person_index: keyed digests, no name), as `PersonIndex` in views.py makes
-- them. Cases recorded before are indexed by `caseline replay --service intake` (docs/persons.md).

CREATE TABLE IF NOT EXISTS "intake".case_persons ( case_id uuid PRIMARY KEY, person_id uuid NOT NULL, own_person_id uuid NOT NULL);

CREATE INDEX IF NOT EXISTS case_persons_person ON "intake".case_persons (person_id);

CREATE TABLE IF NOT EXISTS "intake".person_index ( case_id uuid NOT NULL, digest text NOT NULL, person_id uuid NOT NULL, PRIMARY KEY (case_id, digest));

CREATE INDEX IF NOT EXISTS person_index_digest ON "intake".person_index (digest);

CREATE INDEX IF NOT EXISTS person_index_person ON "intake".person_index (person_id);

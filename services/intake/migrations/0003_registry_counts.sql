-- The person registry's counts, kept by triggers as its rows change (`PersonIndex` in views.py):
-- the persons it knows (registry_size) and how many persons hold each digest (digest_holders),
-- which a search weighs the digests by; then counted once from the rows already there.

CREATE TABLE IF NOT EXISTS "intake".digest_holders ( digest text PRIMARY KEY, persons integer NOT NULL);

CREATE TABLE IF NOT EXISTS "intake".registry_size ( one boolean PRIMARY KEY DEFAULT true CHECK (one), persons bigint NOT NULL);

CREATE OR REPLACE FUNCTION "intake".person_index_added() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE delta bigint; BEGIN INSERT INTO "intake".digest_holders AS h (digest, persons) SELECT digest, count(*) FROM ( SELECT DISTINCT person_id, digest FROM new_rows EXCEPT (SELECT p.person_id, p.digest FROM "intake".person_index p  JOIN (SELECT DISTINCT person_id, digest FROM new_rows) n USING (person_id, digest)  EXCEPT ALL SELECT person_id, digest FROM new_rows) ) added GROUP BY digest ON CONFLICT (digest) DO UPDATE SET persons = h.persons + excluded.persons; RETURN NULL; END $$;

CREATE OR REPLACE FUNCTION "intake".person_index_removed() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE delta bigint; BEGIN WITH gone AS (SELECT digest, count(*) AS persons FROM ( SELECT DISTINCT person_id, digest FROM old_rows EXCEPT SELECT p.person_id, p.digest FROM "intake".person_index p  JOIN (SELECT DISTINCT person_id, digest FROM old_rows) o USING (person_id, digest)) pairs GROUP BY digest) UPDATE "intake".digest_holders h SET persons = h.persons - gone.persons FROM gone WHERE h.digest = gone.digest; DELETE FROM "intake".digest_holders WHERE persons <= 0 AND digest IN (SELECT digest FROM old_rows); RETURN NULL; END $$;

CREATE OR REPLACE FUNCTION "intake".person_index_moved() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE delta bigint; BEGIN WITH gone AS (SELECT digest, count(*) AS persons FROM ( SELECT DISTINCT person_id, digest FROM old_rows EXCEPT SELECT p.person_id, p.digest FROM "intake".person_index p  JOIN (SELECT DISTINCT person_id, digest FROM old_rows) o USING (person_id, digest)) pairs GROUP BY digest) UPDATE "intake".digest_holders h SET persons = h.persons - gone.persons FROM gone WHERE h.digest = gone.digest; DELETE FROM "intake".digest_holders WHERE persons <= 0 AND digest IN (SELECT digest FROM old_rows);INSERT INTO "intake".digest_holders AS h (digest, persons) SELECT digest, count(*) FROM ( SELECT DISTINCT person_id, digest FROM new_rows EXCEPT (SELECT p.person_id, p.digest FROM "intake".person_index p  JOIN (SELECT DISTINCT person_id, digest FROM new_rows) n USING (person_id, digest)  EXCEPT ALL SELECT person_id, digest FROM new_rows) EXCEPT SELECT person_id, digest FROM old_rows) added GROUP BY digest ON CONFLICT (digest) DO UPDATE SET persons = h.persons + excluded.persons; RETURN NULL; END $$;

CREATE OR REPLACE FUNCTION "intake".case_persons_added() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE delta bigint; BEGIN delta := (SELECT count(*) FROM (SELECT person_id FROM new_rows EXCEPT (SELECT c.person_id FROM "intake".case_persons c  JOIN (SELECT DISTINCT person_id FROM new_rows) n USING (person_id)  EXCEPT ALL SELECT person_id FROM new_rows) ) added); IF delta <> 0 THEN INSERT INTO "intake".registry_size AS r (one, persons) VALUES (true, delta) ON CONFLICT (one) DO UPDATE SET persons = r.persons + excluded.persons; END IF; RETURN NULL; END $$;

CREATE OR REPLACE FUNCTION "intake".case_persons_removed() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE delta bigint; BEGIN delta := -(SELECT count(*) FROM (SELECT person_id FROM old_rows EXCEPT SELECT c.person_id FROM "intake".case_persons c  JOIN (SELECT DISTINCT person_id FROM old_rows) o USING (person_id)) gone); IF delta <> 0 THEN INSERT INTO "intake".registry_size AS r (one, persons) VALUES (true, delta) ON CONFLICT (one) DO UPDATE SET persons = r.persons + excluded.persons; END IF; RETURN NULL; END $$;

CREATE OR REPLACE FUNCTION "intake".case_persons_moved() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE delta bigint; BEGIN delta := (SELECT count(*) FROM (SELECT person_id FROM new_rows EXCEPT (SELECT c.person_id FROM "intake".case_persons c  JOIN (SELECT DISTINCT person_id FROM new_rows) n USING (person_id)  EXCEPT ALL SELECT person_id FROM new_rows) EXCEPT SELECT person_id FROM old_rows) added) - (SELECT count(*) FROM (SELECT person_id FROM old_rows EXCEPT SELECT c.person_id FROM "intake".case_persons c  JOIN (SELECT DISTINCT person_id FROM old_rows) o USING (person_id)) gone); IF delta <> 0 THEN INSERT INTO "intake".registry_size AS r (one, persons) VALUES (true, delta) ON CONFLICT (one) DO UPDATE SET persons = r.persons + excluded.persons; END IF; RETURN NULL; END $$;

CREATE OR REPLACE TRIGGER person_index_added AFTER INSERT ON "intake".person_index REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "intake".person_index_added();

CREATE OR REPLACE TRIGGER person_index_removed AFTER DELETE ON "intake".person_index REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "intake".person_index_removed();

CREATE OR REPLACE TRIGGER person_index_moved AFTER UPDATE ON "intake".person_index REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "intake".person_index_moved();

CREATE OR REPLACE TRIGGER case_persons_added AFTER INSERT ON "intake".case_persons REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "intake".case_persons_added();

CREATE OR REPLACE TRIGGER case_persons_removed AFTER DELETE ON "intake".case_persons REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "intake".case_persons_removed();

CREATE OR REPLACE TRIGGER case_persons_moved AFTER UPDATE ON "intake".case_persons REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "intake".case_persons_moved();

INSERT INTO "intake".digest_holders (digest, persons) SELECT digest, count(DISTINCT person_id) FROM "intake".person_index GROUP BY digest ON CONFLICT (digest) DO NOTHING;

INSERT INTO "intake".registry_size (one, persons) SELECT true, count(DISTINCT person_id) FROM "intake".case_persons HAVING count(DISTINCT person_id) > 0 ON CONFLICT (one) DO NOTHING;

-- The case register keeps a person's name only sealed under the case's key (name_kid, name_ct),
-- so that an erasure erases it; the column that held it in clear goes. Names arrive again with the
-- next NameNoted (the release before kept only the "[encrypted]" placeholder the bus carries).

ALTER TABLE "programmes".case_register ADD COLUMN IF NOT EXISTS name_kid text;
ALTER TABLE "programmes".case_register ADD COLUMN IF NOT EXISTS name_ct bytea;
ALTER TABLE "programmes".case_register DROP COLUMN IF EXISTS full_name;

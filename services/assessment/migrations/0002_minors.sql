-- Whether the person was a minor at the facts (from intake's arrest record) and whom the facility
-- or wing where they are held holds (adults, minors): a minor held with adults is a placement
-- conflict. Cases learnt before this version count as adults in facilities of unstated quarter.

ALTER TABLE "assessment".assessed_cases ADD COLUMN IF NOT EXISTS minor_at_facts boolean NOT NULL DEFAULT false;
ALTER TABLE "assessment".assessed_cases ADD COLUMN IF NOT EXISTS quarter text;

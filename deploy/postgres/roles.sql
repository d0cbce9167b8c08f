-- Caseline's PostgreSQL roles and schemas (SPEC §2: one schema per service). Idempotent.
-- Run at the first start of the postgres container by init/10-caseline-roles.sh, or by hand:
--   psql -v ON_ERROR_STOP=1 -v intake_password=… (every variable below) -d caseline -f roles.sql
--
-- caseline_<service>   login; owns schema <service>; nothing on any other service's schema
-- caseline_keystore    no login; owns schema keystore (per-case keys, shared by the four services
--                      for crypto-shredding): the services may read, add and erase keys
-- The ledger's role `caseline_ledger` (SELECT and INSERT on its tables, nothing else) is made by
-- `caseline ledger-role` run as the superuser (the compose service `ledger-setup`): only a
-- superuser may pin a role to NOSUPERUSER, and the tables it creates then belong to a role the
-- ledger process can never act as.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I NOLOGIN', name)
  FROM unnest(ARRAY['caseline_intake', 'caseline_judicial', 'caseline_assessment',
                    'caseline_programmes', 'caseline_keystore']) AS name
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) \gexec

ALTER ROLE caseline_intake LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'intake_password';
ALTER ROLE caseline_judicial LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'judicial_password';
ALTER ROLE caseline_assessment LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'assessment_password';
ALTER ROLE caseline_programmes LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'programmes_password';
ALTER ROLE caseline_keystore NOLOGIN;

-- Each schema belongs to its service: the service creates its own tables in it at start-up.
CREATE SCHEMA IF NOT EXISTS intake AUTHORIZATION caseline_intake;
CREATE SCHEMA IF NOT EXISTS judicial AUTHORIZATION caseline_judicial;
CREATE SCHEMA IF NOT EXISTS assessment AUTHORIZATION caseline_assessment;
CREATE SCHEMA IF NOT EXISTS programmes AUTHORIZATION caseline_programmes;
CREATE SCHEMA IF NOT EXISTS keystore AUTHORIZATION caseline_keystore;
ALTER SCHEMA intake OWNER TO caseline_intake;
ALTER SCHEMA judicial OWNER TO caseline_judicial;
ALTER SCHEMA assessment OWNER TO caseline_assessment;
ALTER SCHEMA programmes OWNER TO caseline_programmes;
ALTER SCHEMA keystore OWNER TO caseline_keystore;

-- Nobody writes to public. The services create their schemas idempotently at start-up, and
-- CREATE SCHEMA IF NOT EXISTS asks for CREATE on the database even when the schema exists: that
-- right lets a role make a new, empty schema of its own, never touch an existing one.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT CONNECT, CREATE ON DATABASE %I TO caseline_intake, caseline_judicial,'
              ' caseline_assessment, caseline_programmes',
              current_database()) \gexec

-- The key store: whichever service starts first creates its table; every service may read,
-- add and erase (UPDATE to a tombstone) keys, none may drop another's rows' table.
GRANT USAGE, CREATE ON SCHEMA keystore
   TO caseline_intake, caseline_judicial, caseline_assessment, caseline_programmes;
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA keystore GRANT SELECT, INSERT,'
              ' UPDATE ON TABLES TO caseline_intake, caseline_judicial, caseline_assessment,'
              ' caseline_programmes', owner)
  FROM unnest(ARRAY['caseline_intake', 'caseline_judicial', 'caseline_assessment',
                    'caseline_programmes']) AS owner \gexec

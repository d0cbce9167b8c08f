#!/bin/sh
# First start of the postgres container (docker-entrypoint-initdb.d): Caseline's roles and
# schemas, from deploy/postgres/roles.sql, with the passwords from the environment (.env).
# A subshell, so that its shell options hold even when the entrypoint sources this file.
(
  set -eu
  : "${DB_PASSWORD_INTAKE:?}" "${DB_PASSWORD_JUDICIAL:?}" "${DB_PASSWORD_ASSESSMENT:?}"
  : "${DB_PASSWORD_PROGRAMMES:?}"
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v intake_password="$DB_PASSWORD_INTAKE" \
    -v judicial_password="$DB_PASSWORD_JUDICIAL" \
    -v assessment_password="$DB_PASSWORD_ASSESSMENT" \
    -v programmes_password="$DB_PASSWORD_PROGRAMMES" \
    -f "${CASELINE_ROLES_SQL:-/etc/caseline/roles.sql}"
)

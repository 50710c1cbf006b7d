#!/bin/bash
# First initialisation of the compose stack's PostgreSQL volume (docker-entrypoint-initdb.d): the application's
# role. It owns nothing; `manage.py migrate`, run as the owner (POSTGRES_USER), grants it its privileges.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="${POSTGRES_APP_PASSWORD:?POSTGRES_APP_PASSWORD is not set}" <<'SQL'
SELECT format('CREATE ROLE voucher_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L',
              :'app_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'voucher_app') \gexec
GRANT CONNECT ON DATABASE voucher_service TO voucher_app;
-- Nobody but the owner creates objects in the schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL

#!/bin/sh
# Makes the cluster on first start, then runs PostgreSQL in the foreground.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set: put it in the env file (scripts/compose-env makes one)}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pwfile" >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  psql -v ON_ERROR_STOP=1 -U postgres -q <<SQL
CREATE ROLE junction LOGIN PASSWORD '$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")';
CREATE DATABASE junction OWNER junction;
CREATE ROLE junction_tenant NOLOGIN;
GRANT junction_tenant TO junction;
SQL
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "postgres: made the cluster, database and user junction (and the role junction_tenant the API takes for a tenant)"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'

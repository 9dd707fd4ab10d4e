#!/usr/bin/env bash
# Start PostgreSQL and Redis if they are local and not reachable; create the database.
# Uses DATABASE_URL / REDIS_URL when set, and leaves remote services alone.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

db_url="${DATABASE_URL:-postgis://postgres@127.0.0.1:5432/chaoyang}"
redis_url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
read -r db_host db_port db_user db_name < <(python3 - "$db_url" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(p.hostname or "127.0.0.1", p.port or 5432, p.username or "postgres", p.path.lstrip("/") or "chaoyang")
PY
)
pg_admin="postgresql://${db_user}@${db_host}:${db_port}/postgres"

if ! pg_isready -q -h "$db_host" -p "$db_port"; then
  case "$db_host" in
    127.0.0.1|localhost|::1)
      ver=$(ls /etc/postgresql | sort -n | tail -n1)
      echo "Starting PostgreSQL $ver"
      $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || $SUDO service postgresql start
      for _ in $(seq 1 30); do pg_isready -q -h "$db_host" -p "$db_port" && break; sleep 1; done
      # A fresh cluster only trusts the local socket: let the postgres role in over loopback.
      if ! psql "$pg_admin" -tAc 'select 1' >/dev/null 2>&1; then
        hba="/etc/postgresql/$ver/main/pg_hba.conf"
        $SUDO sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
      fi
      ;;
    *) echo "PostgreSQL at $db_host:$db_port is not reachable" >&2; exit 1 ;;
  esac
fi

if ! redis-cli -u "$redis_url" ping >/dev/null 2>&1; then
  echo "Starting Redis"
  mkdir -p /tmp/chaoyang-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/chaoyang-redis --logfile /tmp/chaoyang-redis/redis.log
  for _ in $(seq 1 20); do redis-cli -u "$redis_url" ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

if ! psql "$pg_admin" -tAc "select 1 from pg_database where datname='${db_name}'" | grep -q 1; then
  echo "Creating database ${db_name}"
  psql "$pg_admin" -qc "CREATE DATABASE \"${db_name}\""
fi
psql "postgresql://${db_user}@${db_host}:${db_port}/${db_name}" -qc "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null

#!/usr/bin/env bash
# Install the system packages the platform needs, only those missing. Idempotent and quick
# when everything is present (dpkg checks only). Debian 12+ or Ubuntu 22.04+.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

want=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need() { for p in "$@"; do have "$p" || want+=("$p"); done; }

db_url="${DATABASE_URL:-postgis://postgres@127.0.0.1:5432/chaoyang}"
db_host=$(python3 -c "import sys,urllib.parse as u; print(u.urlsplit(sys.argv[1]).hostname or '127.0.0.1')" "$db_url")
local_db=0
case "$db_host" in 127.0.0.1|localhost|::1) local_db=1 ;; esac

# PostgreSQL + PostGIS for the local server's major version (a remote server brings its own).
if [ "$local_db" = 1 ]; then
  pg_major=""
  if command -v psql >/dev/null && psql "postgresql://postgres@${db_host}:5432/postgres" -tAc 'SHOW server_version_num' >/dev/null 2>&1; then
    pg_major=$(psql "postgresql://postgres@${db_host}:5432/postgres" -tAc 'SHOW server_version_num' | cut -c1-2)
  elif ls /usr/lib/postgresql/ >/dev/null 2>&1; then
    pg_major=$(ls /usr/lib/postgresql/ | sort -n | tail -n1)
  fi
  if [ -z "$pg_major" ]; then
    need postgresql postgresql-contrib
  fi
fi
need gdal-bin proj-bin python3-venv postgresql-client gettext
command -v redis-server >/dev/null || redis-cli -u "${REDIS_URL:-redis://127.0.0.1:6379/0}" ping >/dev/null 2>&1 || need redis-server
command -v npm >/dev/null || need nodejs npm
[ -x /usr/bin/chromium ] || need chromium
# A CJK font so pages (and browser-test screenshots) render Chinese, not empty boxes.
need fonts-wqy-microhei

if [ "${#want[@]}" -gt 0 ]; then
  echo "Installing system packages: ${want[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}"
fi

# PostGIS must match the server's major version; resolve it now that PostgreSQL is present.
if [ "$local_db" = 1 ]; then
  if [ -z "${pg_major:-}" ]; then pg_major=$(ls /usr/lib/postgresql/ | sort -n | tail -n1); fi
  pkg="postgresql-${pg_major}-postgis-3"
  if ! have "$pkg"; then
    echo "Installing $pkg"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$pkg"
  fi
fi

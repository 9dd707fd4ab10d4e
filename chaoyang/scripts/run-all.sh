#!/usr/bin/env bash
# Run the web server, one Celery worker and Celery beat in the foreground; Ctrl-C stops all three.
set -euo pipefail
PY=.venv/bin/python
PORT="${PORT:-8000}"
pids=()
cleanup() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup INT TERM EXIT

.venv/bin/celery -A chaoyang worker --loglevel=INFO --concurrency=2 & pids+=($!)
.venv/bin/celery -A chaoyang beat --loglevel=INFO --schedule=/tmp/chaoyang-celerybeat-schedule & pids+=($!)
$PY manage.py runserver "0.0.0.0:${PORT}" --noreload & pids+=($!)

sleep 2
echo
echo "朝阳网格 Chaoyang Grid is running at http://127.0.0.1:${PORT}  (Ctrl-C stops web, worker and beat)"
echo "Demo logins:"
$PY manage.py demo_users
wait -n "${pids[@]}"

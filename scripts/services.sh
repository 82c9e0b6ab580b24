#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests use answer; start the local ones if they stopped.
set -euo pipefail
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! redis_up && command -v redis-server >/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
fi
for _ in $(seq 1 30); do pg_up && redis_up && exit 0; sleep 1; done
pg_up || echo "PostgreSQL does not answer on 127.0.0.1:5432 (set TEST_DATABASE_URL to use another)." >&2
redis_up || echo "Redis does not answer on 127.0.0.1:6379 (set TEST_REDIS_URL to use another)." >&2
exit 1

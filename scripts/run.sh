#!/usr/bin/env bash
# The README's run command: installs what is missing, then runs the whole product.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh requirements.txt
# Several web processes run behind nginx (WEB_PROCESSES, default 1: no proxy).
if (( ${WEB_PROCESSES:-1} > 1 )); then scripts/system-packages.sh --with-nginx; else scripts/system-packages.sh; fi

if [[ ! -f .env ]]; then
  # A local development configuration with a secret made on this machine.
  secret=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')
  printf 'DEBUG=true\nSECRET_KEY=%s\n' "$secret" > .env
  echo "Wrote .env for local development (DEBUG=true). See .env.example for every setting."
fi
exec .venv/bin/python manage.py run_dialer "$@"

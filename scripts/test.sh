#!/usr/bin/env bash
# The README's test command: sets everything up, then lints and runs the whole suite
# against real PostgreSQL and real Redis. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh requirements-dev.txt
scripts/system-packages.sh --with-browser --with-nginx
# axe-core (package.json pins it) for the browser tests' accessibility checks.
[[ -f node_modules/axe-core/axe.min.js ]] || npm install --no-audit --no-fund --no-package-lock --silent
scripts/services.sh

source scripts/test-env.sh

.venv/bin/ruff check .
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null \
  || { echo "Models changed without a migration: run manage.py makemigrations." >&2; exit 1; }
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Create .venv and install a requirements file into it, again only when that file changed.
# Usage: scripts/bootstrap.sh requirements.txt|requirements-dev.txt
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=${1:-requirements.txt}

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Dialer needs Python 3.11 or newer as '$python' (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
[[ -x .venv/bin/python ]] || "$python" -m venv .venv

stamp=.venv/.installed-$(basename "$requirements")
wanted=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
  echo "Installing $requirements into .venv …"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$requirements"
  echo "$wanted" > "$stamp"
fi

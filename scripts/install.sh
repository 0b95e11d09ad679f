#!/usr/bin/env bash
# Creates .venv and installs every third-party package from requirements.lock (exact
# versions with their hashes: pip refuses a download whose hash differs), then every
# package of the repo, editable and without dependencies; `pip check` proves the lock
# covered what they need. Idempotent; `make install` runs it when a lock or a pyproject
# changes. scripts/lock-deps.sh writes the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
packages=(libs/contracts libs/platform)
for svc in services/*/; do packages+=("${svc%/}"); done
packages+=(libs/embedded)
[ -d libs/card_sandbox ] && packages+=(libs/card_sandbox)
args=()
for p in "${packages[@]}"; do args+=(-e "$p"); done
"$VENV/bin/python" -m pip install -q --require-hashes -r requirements.lock
"$VENV/bin/python" -m pip install -q --no-deps "${args[@]}"
"$VENV/bin/python" -m pip check
echo "installed: ${packages[*]}"

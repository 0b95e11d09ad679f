#!/usr/bin/env bash
# Creates .venv and installs every package of the repo (editable) with pinned
# third-party versions. Idempotent; `make install` runs it when a pyproject changes.
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
"$VENV/bin/python" -m pip install -q -c requirements.txt -r requirements-dev.txt "${args[@]}"
echo "installed: ${packages[*]}"

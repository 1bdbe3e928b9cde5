#!/usr/bin/env bash
# Create .venv and install newsqa with the given extras (sourced by demo.sh and test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is pinned in pyproject.toml: pip takes the CPU build; an unpinned torch pulls a multi-GB CUDA build
.venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"

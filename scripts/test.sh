#!/usr/bin/env bash
# One command from a fresh clone to a test run: install everything, then run the tests.
# The default run skips the slow, browser and server suites; `--all` (or CI=true) runs them too.
set -euo pipefail
cd "$(dirname "$0")/.."
all=false
if [ "${1:-}" = "--all" ] || [ "${CI:-}" = "true" ]; then all=true; fi

if $all; then
  bash scripts/setup.sh "test,llm-server"   # llama-cpp-python compiles llama.cpp: minutes, once per machine
else
  bash scripts/setup.sh "test"
fi
if $all && [ ! -x /usr/bin/chromium ]; then
  # the browser tests drive Debian's Chromium (Playwright's own browser download is not reachable)
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi

export GRADIO_ANALYTICS_ENABLED=False
run_pytest() {
  # exit code 5 means the selection held no tests, which is fine for an optional suite
  .venv/bin/python -m pytest "$@" || { code=$?; [ "$code" -eq 5 ] || return "$code"; }
}
run_pytest -q
if $all; then
  run_pytest -q -m "slow or browser or server"
fi

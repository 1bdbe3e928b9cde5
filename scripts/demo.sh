#!/usr/bin/env bash
# One command from a fresh clone to the chat page: install, ingest the sample archive, serve.
# Arguments go to `newsqa serve`: `bash scripts/demo.sh --port 8000` (or NEWSQA_PORT=8000) picks the port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export GRADIO_ANALYTICS_ENABLED=False
.venv/bin/newsqa ingest samples/
echo "Ask from the command line too:  .venv/bin/newsqa ask \"王宏伟提出了哪几点要求\""
echo "Starting the chat page: open the address printed below in a browser; Ctrl-C stops it."
exec .venv/bin/newsqa serve "$@"

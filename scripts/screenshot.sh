#!/usr/bin/env bash
# Regenerate docs/screenshot-chat.png from the real page (the tests never write into docs/).
set -euo pipefail
cd "$(dirname "$0")/.."
NEWSQA_UPDATE_DOCS_SCREENSHOT=1 .venv/bin/python -m pytest -q -m browser \
    "tests/test_app.py::test_chat_answers_with_highlighted_sources"
echo "docs/screenshot-chat.png regenerated"

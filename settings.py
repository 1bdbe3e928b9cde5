"""User-visible settings: one (name, environment variable, default, help) table.

The CLI's options are made from it (click reads each variable through `envvar=`; cli_common.py), the
README's table is made from those options (cli_docs.py, cog), and the page reads the same variables
through `env_default`. Only the edges (cli*.py, app*.py) use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str  # the CLI flag without dashes
    env: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("index", "NEWSQA_INDEX", "data/index", "index directory"),
    Setting("model", "NEWSQA_MODEL", None, "embedding model: sentence-transformers name or local path "
            "(default intfloat/multilingual-e5-small, else the bundled 4-bit copy)"),
    Setting("chroma-url", "NEWSQA_CHROMA_URL", None, "use a Chroma server (http://host:port) instead of the embedded store"),
    Setting("host", "NEWSQA_HOST", "127.0.0.1", "address the chat page binds to"),
    Setting("port", "NEWSQA_PORT", "7860", "port of the chat page"),
    Setting("llm-base-url", "NEWSQA_LLM_BASE_URL", None, "OpenAI-compatible server for generated answers, e.g. "
            "http://127.0.0.1:8080/v1 (unset: extractive answers, no LLM)"),
    Setting("llm-model", "NEWSQA_LLM_MODEL", None, "model name to ask the LLM server for"),
    Setting("llm-api-key", "NEWSQA_LLM_API_KEY", None, "API key for the LLM server, if it needs one"),
    Setting("llm-timeout", "NEWSQA_LLM_TIMEOUT", "60", "seconds to wait for the LLM before falling back to extractive"),
    Setting("scorer", "NEWSQA_SCORER", None, "sentence scorer model file made by `python -m eval.train_scorer` "
            "(default: the packaged one)"),
    Setting("reranker", "NEWSQA_RERANKER", None, "folder of a sentence-transformers CrossEncoder saved locally "
            "(e.g. BAAI/bge-reranker-base) that reorders the best answer sentences (default: none)"),
    Setting("auth-user", "NEWSQA_AUTH_USER", None, "user name for the chat page's login (login is off when unset)"),
    Setting("auth-password", "NEWSQA_AUTH_PASSWORD", None, "password for the chat page's login"),
)
SETTING = {s.name: s for s in SETTINGS}  # by flag name


def env_default(name: str) -> str | None:
    """The value of setting `name`: its environment variable, else its default."""
    setting = SETTING[name]
    return os.environ.get(setting.env) or setting.default

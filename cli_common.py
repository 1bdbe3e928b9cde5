"""What every `newsqa` command shares: the setting options (click reads their environment variables),
checks of dates and questions, one-line failures, JSON and progress output, opening the index or engine."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import click

from settings import SETTING


def setting_option(name: str, *declarations: str, **kwargs: Any) -> Any:
    """`--name` for the setting `name` of settings.py: click reads its environment variable (`envvar=`)
    and shows it in --help; a flag on the command line wins."""
    setting = SETTING[name]
    return click.option(f"--{name}", *declarations, envvar=setting.env, show_envvar=True, default=setting.default,
                        show_default=setting.default is not None, help=setting.help, **kwargs)


def index_option(function: Any) -> Any:
    return setting_option("index", "index_dir", type=click.Path(path_type=Path))(function)


def chroma_option(function: Any) -> Any:
    return setting_option("chroma-url")(function)


def answerer_options(function: Any) -> Any:
    """--scorer FILE and --reranker DIR, handed to the command as `scorer` and `reranker` (paths or None)."""
    function = setting_option("reranker", type=click.Path(exists=True, file_okay=False, path_type=Path))(function)
    return setting_option("scorer", type=click.Path(exists=True, dir_okay=False, path_type=Path))(function)


def json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")(function)


def llm_options(function: Any) -> Any:
    """--llm-base-url/--llm-model/--llm-api-key/--llm-timeout, handed to the command as one `llm` config (or None)."""

    @functools.wraps(function)
    def command(*args: Any, llm_base_url: str | None, llm_model: str | None, llm_api_key: str | None,
                llm_timeout: float, **kwargs: Any) -> Any:
        return function(*args, llm=llm_config(llm_base_url, llm_model, llm_api_key, llm_timeout), **kwargs)

    for name, kind in (("llm-timeout", float), ("llm-api-key", str), ("llm-model", str), ("llm-base-url", str)):
        command = setting_option(name, type=kind)(command)
    return command


def llm_config(base_url: str | None, model: str | None, api_key: str | None, timeout: float) -> Any:
    """The LLM config when a server is named; fails early when the `llm` extra is missing."""
    if not base_url:
        return None
    from rag.llm import LLMConfig, load_llm

    if timeout <= 0:
        fail("--llm-timeout must be a positive number of seconds")
    config = LLMConfig(base_url=base_url, model=model or "default", api_key=api_key, timeout=timeout)
    try:
        load_llm(config)
    except ImportError as exc:
        fail(str(exc))
    return config


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def fail(message: str, code: int = 1) -> None:
    """One line on stderr and exit `code`: what a user sees instead of a traceback."""
    click.echo(f"newsqa: {message}", err=True)
    sys.exit(code)


def quick_exit() -> None:
    """At exit, spare the collection of every object (0.3-0.7 s once llama-index and Chroma are loaded).

    Runs as the first exit handler, so the others (Chroma's, temporary copies') still run; only
    cyclic garbage goes uncollected, and the read-only commands that call this leave nothing to flush.
    """
    import atexit
    import gc

    atexit.unregister(gc.freeze)  # once, however many commands one process runs (tests)
    atexit.register(gc.freeze)


def check_date(value: str | None, flag: str) -> str | None:
    """`value` when it is a real calendar date written YYYY-MM-DD (2023-02-30 is not)."""
    if not value:
        return value
    from ingest.articles import calendar_date  # only when a date is given: a plain `ask` does not wait for it

    try:
        return calendar_date(value)
    except ValueError:
        fail(f"{flag} must be YYYY-MM-DD, a real calendar date (got {value!r})")
        return None


def check_range(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """--since and --until checked, the first not after the second."""
    since, until = check_date(since, "--since"), check_date(until, "--until")
    if since and until and since > until:
        fail(f"--since {since} is after --until {until}")
    return since, until


def checked_question(text: str) -> str:
    """The checked question, or one line on stderr and exit 1 (empty, symbols only, too long)."""
    from rag.question_limits import QuestionRejected, check_question

    try:
        return check_question(text)
    except QuestionRejected as exc:
        fail(str(exc))
        raise


def printable(text: str) -> str:
    """`text` with terminal control characters (ESC, NUL, C1) shown as \\xNN, never sent to the terminal."""
    import re

    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group(0)):02x}", text)


class Bars:
    """tqdm progress bars on stderr by name, made on first use, restarted when a count starts over."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def bar(self, name: str, unit: str) -> Any:
        from tqdm import tqdm

        def update(done: int, total: int, *_what: str) -> None:
            current = self.bars.get(name)
            if current is None or done < current.n or total != current.total:
                if current is not None:
                    current.close()
                current = self.bars[name] = tqdm(total=total, unit=unit, desc=name, file=sys.stderr, dynamic_ncols=True)
            current.update(done - current.n)
        return update

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        for progress in self.bars.values():
            progress.close()


def open_index(index_dir: Path, chroma_url: str | None = None) -> Any:
    from ingest.index import Index

    try:
        return Index.open(index_dir, chroma_url)
    except FileNotFoundError as exc:
        fail(str(exc))


def load_engine(index_dir: Path, chroma_url: str | None, llm: Any = None, scorer: Path | None = None,
                reranker: Path | None = None) -> Any:
    from ingest.errors import IndexMismatch
    from rag.engine import Engine, EngineConfig
    from rag.scorer import ScorerMismatch

    try:
        return Engine(index_dir, EngineConfig(llm=llm, scorer=scorer, reranker=reranker), chroma_url=chroma_url)
    except (FileNotFoundError, IndexMismatch, ScorerMismatch) as exc:
        fail(str(exc))


def encodable(*values: Any) -> bool:
    """True when `values` dump to JSON that encodes as UTF-8 (no lone surrogates)."""
    try:
        json.dumps(values, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

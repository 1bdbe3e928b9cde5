"""Edge: the `newsqa` command. Flags and environment in, calls into ingest/rag/eval, text or JSON out."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from settings import env_default, env_help


def _index_option(function: Any) -> Any:
    return click.option("--index", "index_dir", type=click.Path(path_type=Path), default=lambda: env_default("index"),
                        show_default=False, help=env_help("index"))(function)


def _chroma_option(function: Any) -> Any:
    return click.option("--chroma-url", default=lambda: env_default("chroma-url"), help=env_help("chroma-url"))(function)


def _json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")(function)


def _llm_options(function: Any) -> Any:
    """--llm-base-url/--llm-model/--llm-api-key/--llm-timeout, handed to the command as one `llm` config (or None)."""

    @functools.wraps(function)
    def command(*args: Any, llm_base_url: str | None, llm_model: str | None, llm_api_key: str | None,
                llm_timeout: float, **kwargs: Any) -> Any:
        return function(*args, llm=_llm_config(llm_base_url, llm_model, llm_api_key, llm_timeout), **kwargs)

    for name, kind in (("llm-timeout", float), ("llm-api-key", str), ("llm-model", str), ("llm-base-url", str)):
        command = click.option(f"--{name}", type=kind, default=lambda name=name: env_default(name),
                               help=env_help(name))(command)
    return command


def _llm_config(base_url: str | None, model: str | None, api_key: str | None, timeout: float) -> Any:
    """The LLM config when a server is named; fails early when the `llm` extra is missing."""
    if not base_url:
        return None
    from rag.llm import LLMConfig, load_llm

    if timeout <= 0:
        _fail("--llm-timeout must be a positive number of seconds")
    config = LLMConfig(base_url=base_url, model=model or "default", api_key=api_key, timeout=timeout)
    try:
        load_llm(config)
    except ImportError as exc:
        _fail(str(exc))
    return config


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _fail(message: str, code: int = 1) -> None:
    """One line on stderr and exit `code`: what a user sees instead of a traceback."""
    click.echo(f"newsqa: {message}", err=True)
    sys.exit(code)


def _quick_exit() -> None:
    """At exit, spare the collection of every object (0.3-0.7 s once llama-index and Chroma are loaded).

    Runs as the first exit handler, so the others (Chroma's, temporary copies') still run; only
    cyclic garbage goes uncollected, and the read-only commands that call this leave nothing to flush.
    """
    import atexit
    import gc

    atexit.unregister(gc.freeze)  # once, however many commands one process runs (tests)
    atexit.register(gc.freeze)


def _check_date(value: str | None, flag: str) -> str | None:
    """`value` when it is a real calendar date written YYYY-MM-DD (2023-02-30 is not)."""
    import re
    from datetime import date

    if not value:
        return value
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    _fail(f"{flag} must be YYYY-MM-DD, a real calendar date (got {value!r})")
    return None


def _check_range(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """--since and --until checked, the first not after the second."""
    since, until = _check_date(since, "--since"), _check_date(until, "--until")
    if since and until and since > until:
        _fail(f"--since {since} is after --until {until}")
    return since, until


def _question(text: str) -> str:
    """The checked question, or one line on stderr and exit 1 (empty, symbols only, too long)."""
    from rag.question_limits import QuestionRejected, check_question

    try:
        return check_question(text)
    except QuestionRejected as exc:
        _fail(str(exc))
        raise


def _printable(text: str) -> str:
    """`text` with terminal control characters (ESC, NUL, C1) shown as \\xNN, never sent to the terminal."""
    import re

    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group(0)):02x}", text)


@click.group()
@click.version_option(package_name="newsqa")
def main() -> None:
    """newsqa: ask questions of a Chinese newspaper archive and get answers cited to the source text."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@_index_option
@click.option("--date", help="issue date YYYY-MM-DD for files that carry none")
@click.option("--model", default=lambda: env_default("model"), help=env_help("model"))
@_chroma_option
@_json_option
def ingest(paths: tuple[str, ...], index_dir: Path, date: str | None, model: str | None, chroma_url: str | None,
           as_json: bool) -> None:
    """Ingest issue files, directories (recursive) or globs into the index.

    Example: newsqa ingest samples/ ../shared/data/xwlb/xwlb_2023.jsonl
    """
    from ingest.embed import EmbeddingModelError
    from ingest.errors import IndexBusy, IndexMismatch, StorageFull, StoreUnavailable
    from ingest.pipeline import IngestConfig, ingest_paths

    _check_date(date, "--date")
    config = IngestConfig(model=model, date=date, chroma_url=chroma_url)
    if hasattr(os, "nice"):
        os.nice(10)  # embedding already yields (ingest/embed.py); the index writes yield to a chat server too
    try:
        with _Bars() as bars:
            report = ingest_paths(list(paths), index_dir, config, progress=bars.bar("embedding", "chunk"))
    except (IndexBusy, IndexMismatch, StoreUnavailable, StorageFull, EmbeddingModelError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        _print_json(report.as_json())
    else:
        click.echo(
            f"{report.files} files: {report.articles_added} articles added, {report.articles_replaced} replaced, "
            f"{report.articles_removed} removed, "
            f"{report.articles_unchanged} unchanged; {report.chunks_added} chunks in {report.seconds:.1f}s "
            f"({report.embed_seconds:.1f}s embedding with {report.runtime})"
        )
        # per file, so a wrong split (a whole issue read as one article) shows at once
        for found in report.file_articles:
            click.echo(f"  {found['path']}: {found['articles']} articles (split by {found['split']})")
    # a file that was read but held no article (only headings) is a problem too
    empty = [f["path"] for f in report.file_articles if not f["articles"]]
    for error in report.errors:
        click.echo(f"error: {error['path']}: {error['error']}", err=True)
    for path in empty:
        click.echo(f"error: {path}: no article found (only headings, or no text under any heading)", err=True)
    if report.errors or empty:
        sys.exit(1)


class _Bars:
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

    def __enter__(self) -> _Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        for progress in self.bars.values():
            progress.close()


def _open_index(index_dir: Path, chroma_url: str | None = None) -> Any:
    from ingest.index import Index

    try:
        return Index.open(index_dir, chroma_url)
    except FileNotFoundError as exc:
        _fail(str(exc))


@main.command(name="list")
@_index_option
@_json_option
def list_articles(index_dir: Path, as_json: bool) -> None:
    """List the indexed articles: id, title, date, source, chunks.

    Example: newsqa list --json
    """
    rows = [
        {"id": s.article.id, "title": s.article.title, "date": s.article.date or s.article.meta.get("date_text"),
         "date_from": s.article.meta.get("date_from"), "source": s.article.source, "chunks": s.chunks}
        for s in _open_index(index_dir).list_articles()
    ]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        dated = f"date from {row['date_from']}, " if row["date_from"] and row["date"] else ""
        click.echo(f"{row['id']}  {row['date'] or '-':10}  {row['chunks']:3d}  {row['title']}  ({dated}{row['source']})")


@main.command()
@click.argument("article_id")
@_index_option
@_json_option
def show(article_id: str, index_dir: Path, as_json: bool) -> None:
    """Show one article's cleaned full text and metadata.

    Example: newsqa show 0e703f5fd16e0502
    """
    article = _open_index(index_dir).get_article(article_id)
    if article is None:
        _fail(f"no article with id {article_id!r}; `newsqa list` shows the ids")
    if as_json:
        _print_json({"id": article.id, "title": article.title, "date": article.date, "source": article.source,
                     "meta": article.meta, "text": article.text})
        return
    head = f"{article.title}\n{article.date or article.meta.get('date_text') or ''}  {article.source}\n"
    click.echo(_printable(head))
    click.echo(_printable(article.text))


def _engine(index_dir: Path, chroma_url: str | None, llm: Any = None) -> Any:
    from ingest.errors import IndexMismatch
    from rag.engine import Engine, EngineConfig

    try:
        return Engine(index_dir, EngineConfig(llm=llm), chroma_url=chroma_url)
    except (FileNotFoundError, IndexMismatch) as exc:
        _fail(str(exc))


def _encodable(*values: Any) -> bool:
    """True when `values` dump to JSON that encodes as UTF-8 (no lone surrogates)."""
    try:
        json.dumps(values, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _print_answer(answer: Any) -> None:
    if answer.condensed_question:  # the chat page shows it too: the reader sees how a follow-up was read
        click.echo(f"（理解为：{_printable(answer.condensed_question)}）")
    click.echo(answer.answer)
    if answer.notice:
        click.echo(f"（{answer.notice}）")
    for c in answer.citations:
        click.echo(f"  [{c.n}] 《{c.title}》 {c.date or ''} {c.source}: {c.quote}")


@main.command()
@click.argument("question", required=False)
@_index_option
@click.option("-k", "--k", "k", type=int, default=None, help="fused chunks to answer from (default 8)")
@click.option("--since", help="only articles dated on or after YYYY-MM-DD")
@click.option("--until", help="only articles dated on or before YYYY-MM-DD")
@click.option("--source", help="only articles from this file or archive name")
@click.option("--questions", "questions_file", type=click.Path(exists=True, path_type=Path),
              help="answer every {qid, question} line of a JSONL file; one JSON result per line")
@_chroma_option
@_llm_options
@_json_option
def ask(question: str | None, index_dir: Path, k: int | None, since: str | None, until: str | None,
        source: str | None, questions_file: Path | None, chroma_url: str | None, as_json: bool, llm: Any) -> None:
    """Answer a question with numbered citations.

    Example: newsqa ask "王宏伟提出了哪几点要求"
    """
    from ingest.errors import StoreUnavailable
    from rag.followup import HISTORY_NEEDED, needs_history

    if question is None and not questions_file:
        _fail("give a question, or --questions FILE.jsonl")
    since, until = _check_range(since, until)
    if not questions_file:
        question = _question(question or "")
        if needs_history(question):  # 「第二点是什么」 alone: ask back rather than answer from any list
            _fail(f"{HISTORY_NEEDED}（在 newsqa chat 里可以接着上一个问题问）", code=2)
    # imported after the checks, so a refusal does not wait for llama-index
    from rag.retrieve import SearchFilter

    filters = SearchFilter(since, until, source)
    engine = _engine(index_dir, chroma_url, llm)
    _quick_exit()
    if questions_file:
        _ask_batch(engine, questions_file, filters, k)
        return
    try:
        answer = engine.ask(question or "", [], filters, k)
    except StoreUnavailable as exc:
        _fail(str(exc))
    if as_json:
        _print_json(answer.as_json())
    else:
        _print_answer(answer)


def _ask_batch(engine: Any, questions_file: Path, filters: Any, k: int | None) -> None:
    """One JSON line per {qid, question, history?} line; a bad line gets an "error" and the batch goes on."""
    from ingest.errors import StoreUnavailable
    from rag.followup import HISTORY_NEEDED, needs_history
    from rag.question_limits import QuestionRejected, check_question

    for line_no, line in enumerate(questions_file.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            asked = check_question(item["question"])
            if not item.get("history") and needs_history(asked):
                result = {"error": f"{questions_file}:{line_no}: {HISTORY_NEEDED}"}
            else:
                result = engine.ask(asked, item.get("history") or [], filters, k).as_json()
        except QuestionRejected as exc:
            result = {"error": f"{questions_file}:{line_no}: {exc}"}
        except StoreUnavailable as exc:
            result = {"error": str(exc)}
        except (json.JSONDecodeError, KeyError, TypeError):
            result = {"error": f"{questions_file}:{line_no}: not a JSON object with a 'question'"}
            item = {}
        qid = item.get("qid") if isinstance(item, dict) else None
        # ensure_ascii: a lone surrogate in a qid or history cannot be written as UTF-8
        click.echo(json.dumps({"qid": qid, **result}, ensure_ascii=not _encodable(qid, result)))


@main.command()
@_index_option
@_chroma_option
@_llm_options
def chat(index_dir: Path, chroma_url: str | None, llm: Any) -> None:
    """Chat in the terminal; follow-up questions use the earlier ones. Empty line or Ctrl-D ends.

    Example: newsqa chat
    """
    from ingest.errors import StoreUnavailable
    from rag.followup import HISTORY_NEEDED, needs_history
    from rag.question_limits import QuestionRejected, check_question

    engine = _engine(index_dir, chroma_url, llm)
    _quick_exit()
    history: list[str] = []
    while True:
        try:
            question = input("问> ").strip()
        except EOFError:
            break
        if not question:
            break
        try:
            question = check_question(question)
        except QuestionRejected as exc:
            click.echo(f"newsqa: {exc}", err=True)
            continue
        if not history and needs_history(question):
            click.echo(HISTORY_NEEDED)
            continue
        try:
            answer = engine.ask(question, history)
        except StoreUnavailable as exc:
            click.echo(f"newsqa: {exc}", err=True)
            continue
        _print_answer(answer)
        history.append(question)


@main.command()
@_index_option
@click.option("--host", default=lambda: env_default("host"), help=env_help("host"))
@click.option("--port", type=int, default=lambda: int(env_default("port") or 7860), help=env_help("port"))
@click.option("--auth-user", default=lambda: env_default("auth-user"), help=env_help("auth-user"))
@click.option("--auth-password", default=lambda: env_default("auth-password"), help=env_help("auth-password"))
@_chroma_option
@_llm_options
def serve(index_dir: Path, host: str, port: int, auth_user: str | None, auth_password: str | None,
          chroma_url: str | None, llm: Any) -> None:
    """Start the chat page (binds 127.0.0.1 unless told otherwise; login when a user and password are set).

    Example: newsqa serve --port 7860
    """
    import app

    if bool(auth_user) != bool(auth_password):
        _fail("--auth-user and --auth-password go together")
    app.serve(index_dir=index_dir, host=host, port=port, chroma_url=chroma_url, llm=llm,
              auth_user=auth_user, auth_password=auth_password)


@main.command(name="eval")
@click.option("--set", "set_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="eval set JSONL; NAME.dev.jsonl or NAME.test.jsonl brings its other half (default: the sample set)")
@click.option("--all-sets", is_flag=True, help="every set in eval/data, each against an index of its own archive")
@click.option("--news", "news_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="--all-sets: the national-news archive of the news set, e.g. ../shared/data/xwlb/xwlb_2023.jsonl")
@click.option("--work", "work_dir", type=click.Path(file_okay=False, path_type=Path),
              help="--all-sets: folder of the sets' indexes, kept between runs (default: eval-indexes beside --index)")
@_index_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help='write {"sets": {NAME: {"dev": metrics, "test": metrics}}, "runs": [...]} here')
@click.option("--report", "report_out", type=click.Path(dir_okay=False, path_type=Path),
              help="write a Markdown report here (one section per set and split, PNG charts beside it)")
@click.option("--tolerance", type=click.FloatRange(min=0), default=0.02, show_default=True,
              help="exit 1 when a test figure drops by more than this since the previous run")
@click.option("--benchmark", type=click.Choice(["chronoqa", "cmrc2018"]),
              help="run a public benchmark (dev and test halves) in a temporary index instead of a set")
@click.option("--data", "data_path", type=click.Path(exists=True, path_type=Path),
              help="the benchmark's data: chronoqa.jsonl, or the cmrc2018 folder (or either of its files)")
@click.option("--sample", type=click.IntRange(min=1), help="benchmark: a seeded random sample of N questions per half")
@click.option("--seed", type=int, default=0, show_default=True, help="benchmark: seed of --sample")
@click.option("--distractors", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="benchmark: also index these JSONL news records")
@click.option("--bench-index", type=click.Path(file_okay=False, path_type=Path),
              help="benchmark: build the index here and keep it (re-runs embed only what is new)")
@_llm_options
def evaluate(set_path: Path | None, all_sets: bool, news_path: Path | None, work_dir: Path | None, index_dir: Path,
             json_out: Path | None, report_out: Path | None, tolerance: float, benchmark: str | None,
             data_path: Path | None, sample: int | None, seed: int, distractors: Path | None, bench_index: Path | None,
             llm: Any) -> None:
    """Score answers, dev and test halves: answered correctly, wrong, false refusals, refusals, citations.

    Prints one table (a row per set and split, each figure with its change since the previous run).
    Exits 1 when a test figure drops by more than --tolerance, or a metric misses the set's
    threshold. Runs are kept in INDEX/eval_runs/ and name the questions that got worse.

    \b
    Example: newsqa eval                      # the sample set (dev + test) on the current index
    Example: newsqa eval --all-sets --news ../shared/data/xwlb/xwlb_2023.jsonl --json reports/eval.json
    Example: newsqa eval --benchmark cmrc2018 --data ../shared/data/cmrc2018 --sample 300
    """
    from eval.report import compare_and_save, suite_json, summary, table, write_report
    from eval.run import evaluate as evaluate_run
    from eval.run import run_benchmark
    from eval.sets import SAMPLE_SET, EvalSetError
    from eval.suite import load_pair, run_all_sets
    from rag.engine import EngineConfig

    config = EngineConfig(llm=llm)
    with _Bars() as bars:
        try:
            if benchmark:
                if data_path is None:
                    _fail("--benchmark needs --data (the benchmark's file or folder)")
                results = run_benchmark(benchmark, data_path, sample, distractors, seed, bars.bar("questions", "q"),
                                        bars.bar("embedding", "chunk"), config=config, index_dir=bench_index)
            elif all_sets:
                work = work_dir or index_dir.parent / "eval-indexes"
                results = run_all_sets(work, config, news_path, say=lambda line: click.echo(line, err=True),
                                       progress=bars.bar("questions", "q"), ingest_progress=bars.bar("indexing", "chunk"))
            else:
                engine = _engine(index_dir, None, llm)
                results = [evaluate_run(engine, half, bars.bar("questions", "q"))
                           for half in load_pair(set_path or SAMPLE_SET).halves]
        except (EvalSetError, ValueError, KeyError, OSError) as exc:
            _fail(f"{type(exc).__name__}: {exc}" if isinstance(exc, KeyError) else str(exc))
    # a benchmark's own index is temporary: its runs are kept only beside an existing --index
    run = compare_and_save(results, index_dir, keep=not benchmark or index_dir.is_dir(), tolerance=tolerance)
    previous, worse, dropped = run.previous, run.worse, run.dropped
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        runs = [{**r.as_json(), "regressions": worse[r.run_name], "previous_run": (previous[r.run_name] or {}).get("path")}
                for r in results]
        json_out.write_text(json.dumps({**suite_json(results), "drops": dropped,
                                        "stored_as": [str(p) for p in run.stored], "runs": runs},
                                       ensure_ascii=False, indent=1), encoding="utf-8")
    if report_out:
        for r in results:
            path = report_out.with_name(f"{report_out.stem}-{r.run_name}{report_out.suffix}") if len(results) > 1 else report_out
            click.echo(f"report: {write_report(r, path, worse[r.run_name], previous[r.run_name])}", err=True)
    for line in table(results, previous):
        click.echo(line)
    for r in results:
        for line in summary(r, worse[r.run_name]):
            click.echo(line)
    for line in dropped:
        click.echo(f"test figure dropped by more than {tolerance:g}: {line}")
    if dropped or any(r.failures for r in results):
        sys.exit(1)


@main.command()
@_index_option
@_chroma_option
@_json_option
def compact(index_dir: Path, chroma_url: str | None, as_json: bool) -> None:
    """Merge BM25's small per-ingest segments into one (ingest does this on its own as they grow).

    Example: newsqa compact
    """
    from ingest.errors import IndexBusy

    try:
        figures = _open_index(index_dir, chroma_url).compact()
    except IndexBusy as exc:
        _fail(str(exc))
    if as_json:
        _print_json(figures)
    else:
        click.echo(f"BM25: {figures['segments_before']} segments merged into {figures['segments_after']}")


@main.command(name="remove")
@click.argument("target")
@_index_option
@_chroma_option
@_json_option
def remove_command(target: str, index_dir: Path, chroma_url: str | None, as_json: bool) -> None:
    """Remove a source (its path, or a file name that names one source) or one article (its id).

    Ingesting a file again already replaces its articles; this is for a file deleted or retracted.

    Example: newsqa remove issues/2020-11-17.txt
    """
    from ingest.errors import IndexBusy, RemoveError, StoreUnavailable
    from ingest.pipeline import remove

    try:
        removed = remove(target, index_dir, chroma_url)
    except (FileNotFoundError, RemoveError, IndexBusy, StoreUnavailable) as exc:
        _fail(str(exc))
    rows = [{"id": a.id, "title": a.title, "source": a.source, "source_key": a.meta.get("source_key")} for a in removed]
    if as_json:
        _print_json({"removed": rows})
        return
    for row in rows:
        click.echo(f"removed {row['id']}  {row['title']}  ({row['source_key'] or row['source']})")


@main.command()
@click.option("--corpus", "corpus", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a JSONL archive (repeat: stories are taken in the order given)")
@click.option("--sizes", default="1000,5000,16000", show_default=True, help="corpus sizes in stories, comma-separated")
@click.option("--questions", "questions_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="an eval set (JSONL) to ask; default: 50 lexical probes made from the first stories")
@click.option("--chronoqa", "chronoqa", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="chronoqa.jsonl: after the last size, ask its test questions with their gold passages in the index")
@click.option("--chronoqa-sample", type=click.IntRange(min=1), default=200, show_default=True,
              help="ChronoQA: a seeded sample of N test questions (odd qid)")
@click.option("--load", "load", type=click.IntRange(min=0), default=0, show_default=True,
              help="ask the questions again while N busy processes hold the cores (0: no such run)")
@click.option("--report", "report_out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/bench.md"),
              show_default=True, help="Markdown report; .png and .json are written beside it")
@click.option("--work", "work_dir", type=click.Path(file_okay=False, path_type=Path),
              help="empty directory for the indexes (default: a temporary one, removed at the end)")
@click.option("--no-peer", is_flag=True, help="skip the llama-index peers (plain vector and hybrid)")
def bench(corpus: tuple[Path, ...], sizes: str, questions_file: Path | None, chronoqa: Path | None,
          chronoqa_sample: int, load: int, report_out: Path, work_dir: Path | None, no_peer: bool) -> None:
    """Ingest and query figures at growing corpus sizes, beside two llama-index pipelines.

    \b
    Example: newsqa bench --corpus ../shared/data/xwlb/xwlb_2021.jsonl --corpus ../shared/data/xwlb/xwlb_2022.jsonl \\
             --corpus ../shared/data/xwlb/xwlb_2023.jsonl --sizes 1000,5000,16000 --report reports/bench.md \\
             --chronoqa ../shared/data/chronoqa/chronoqa.jsonl --load 2
    """
    import tempfile

    from eval.bench import BenchOptions, run_bench
    from eval.bench_report import write_report

    try:
        counts = [int(size) for size in sizes.split(",") if size.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        _fail("--sizes must be positive whole numbers, e.g. 1000,5000,16000")
    command = "newsqa bench " + " ".join(sys.argv[2:])
    options = BenchOptions(questions_file, not no_peer, chronoqa, chronoqa_sample, load)

    def write(result: Any) -> None:
        click.echo(f"report: {write_report(result, report_out, command)}", err=True)

    with tempfile.TemporaryDirectory(prefix="newsqa-bench-") as scratch:
        try:
            run_bench(list(corpus), counts, work_dir or Path(scratch) / "work", options, write,
                      lambda line: click.echo(line, err=True))
        except (ValueError, RuntimeError, OSError) as exc:
            _fail(str(exc))
    click.echo(report_out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()

"""Edge: the `newsqa` command. Flags and environment in, calls into ingest/rag/eval, text or JSON out."""

from __future__ import annotations

import functools
import json
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


def _fail(message: str) -> None:
    """One line on stderr and exit 1: what a user sees instead of a traceback."""
    click.echo(f"newsqa: {message}", err=True)
    sys.exit(1)


def _check_date(value: str | None, flag: str) -> str | None:
    from ingest.articles import normalise_date

    if value and (normalise_date(value) is None or len(value) != 10):
        _fail(f"{flag} must be YYYY-MM-DD")
    return value


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
    from ingest.errors import IndexBusy, IndexMismatch, StoreUnavailable
    from ingest.pipeline import IngestConfig, ingest_paths

    _check_date(date, "--date")
    config = IngestConfig(model=model, date=date, chroma_url=chroma_url)
    try:
        with _progress_bar() as progress:
            report = ingest_paths(list(paths), index_dir, config, progress=progress)
    except (IndexBusy, IndexMismatch, StoreUnavailable, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        _print_json(report.as_json())
    else:
        click.echo(
            f"{report.files} files: {report.articles_added} articles added, {report.articles_replaced} replaced, "
            f"{report.articles_unchanged} unchanged; {report.chunks_added} chunks in {report.seconds:.1f}s "
            f"({report.embed_seconds:.1f}s embedding with {report.runtime})"
        )
    for error in report.errors:
        click.echo(f"error: {error['path']}: {error['error']}", err=True)
    if report.errors:
        sys.exit(1)


class _progress_bar:
    """A tqdm bar on stderr fed by ingest's progress callback."""

    def __enter__(self) -> Any:
        self._bar: Any = None

        def update(done: int, total: int, what: str) -> None:
            from tqdm import tqdm

            if self._bar is None:
                self._bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr, dynamic_ncols=True)
            self._bar.update(done - self._bar.n)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()


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
         "source": s.article.source, "chunks": s.chunks}
        for s in _open_index(index_dir).list_articles()
    ]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['id']}  {row['date'] or '-':10}  {row['chunks']:3d}  {row['title']}  ({row['source']})")


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
    click.echo(f"{article.title}\n{article.date or article.meta.get('date_text') or ''}  {article.source}\n")
    click.echo(article.text)


def _engine(index_dir: Path, chroma_url: str | None, llm: Any = None) -> Any:
    from ingest.errors import IndexMismatch
    from rag.engine import Engine, EngineConfig

    try:
        return Engine(index_dir, EngineConfig(llm=llm), chroma_url=chroma_url)
    except (FileNotFoundError, IndexMismatch) as exc:
        _fail(str(exc))


def _print_answer(answer: Any) -> None:
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
    from rag.retrieve import SearchFilter

    if not question and not questions_file:
        _fail("give a question, or --questions FILE.jsonl")
    filters = SearchFilter(_check_date(since, "--since"), _check_date(until, "--until"), source)
    engine = _engine(index_dir, chroma_url, llm)
    if questions_file:
        for line_no, line in enumerate(questions_file.read_text(encoding="utf-8-sig").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                result = engine.ask(item["question"], item.get("history") or [], filters, k).as_json()
            except StoreUnavailable as exc:
                result = {"error": str(exc)}
            except (json.JSONDecodeError, KeyError, TypeError):
                result = {"error": f"{questions_file}:{line_no}: not a JSON object with a 'question'"}
                item = {}
            click.echo(json.dumps({"qid": item.get("qid"), **result}, ensure_ascii=False))
        return
    try:
        answer = engine.ask(question or "", [], filters, k)
    except StoreUnavailable as exc:
        _fail(str(exc))
    if as_json:
        _print_json(answer.as_json())
    else:
        _print_answer(answer)


@main.command()
@_index_option
@_chroma_option
@_llm_options
def chat(index_dir: Path, chroma_url: str | None, llm: Any) -> None:
    """Chat in the terminal; follow-up questions use the earlier ones. Empty line or Ctrl-D ends.

    Example: newsqa chat
    """
    from ingest.errors import StoreUnavailable

    engine = _engine(index_dir, chroma_url, llm)
    history: list[str] = []
    while True:
        try:
            question = input("问> ").strip()
        except EOFError:
            break
        if not question:
            break
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
              help="eval set JSONL (default: the packaged sample set)")
@_index_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="write metrics and every question here")
@click.option("--report", "report_out", type=click.Path(dir_okay=False, path_type=Path),
              help="write a Markdown report here (with a PNG chart beside it)")
@click.option("--benchmark", type=click.Choice(["chronoqa", "cmrc2018"]),
              help="run a public benchmark in a temporary index instead of a set")
@click.option("--data", "data_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the benchmark's file: chronoqa.jsonl or cmrc2018_dev.json")
@click.option("--sample", type=click.IntRange(min=1), help="benchmark: a seeded random sample of N questions")
@click.option("--seed", type=int, default=0, show_default=True, help="benchmark: seed of --sample")
@click.option("--distractors", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="benchmark: also index these JSONL news records")
@click.option("--bench-index", type=click.Path(file_okay=False, path_type=Path),
              help="benchmark: build the index here and keep it (re-runs embed only what is new)")
@_llm_options
def evaluate(set_path: Path | None, index_dir: Path, json_out: Path | None, report_out: Path | None,
             benchmark: str | None, data_path: Path | None, sample: int | None, seed: int,
             distractors: Path | None, bench_index: Path | None, llm: Any) -> None:
    """Score answers against an eval set: hit@k, MRR, key points, refusals, citations, latency.

    Exits 1 when a metric is below the set's threshold. Runs are kept in INDEX/eval_runs/, and a
    run names the questions that got worse since the previous run of the same set.

    \b
    Example: newsqa eval --report reports/sample.md
    Example: newsqa eval --benchmark cmrc2018 --data ../shared/data/cmrc2018/cmrc2018_dev.json --sample 300
    """
    from tqdm import tqdm

    from eval.report import previous_run, regressions, save_run, summary, write_report
    from eval.run import evaluate_set, run_benchmark
    from eval.sets import EvalSetError
    from rag.engine import EngineConfig

    bars: dict[str, Any] = {}

    def bar(name: str, unit: str) -> Any:
        def update(done: int, total: int, *_what: str) -> None:
            if name not in bars:
                bars[name] = tqdm(total=total, unit=unit, desc=name, file=sys.stderr, dynamic_ncols=True)
            bars[name].update(done - bars[name].n)
        return update

    try:
        if benchmark:
            if data_path is None:
                _fail("--benchmark needs --data (the benchmark's file)")
            result = run_benchmark(benchmark, data_path, sample, distractors, seed, bar("questions", "q"),
                                   bar("embedding", "chunk"), config=EngineConfig(llm=llm), index_dir=bench_index)
        else:
            result = evaluate_set(_engine(index_dir, None, llm), set_path, bar("questions", "q"))
    except (EvalSetError, ValueError, KeyError, OSError) as exc:
        _fail(f"{type(exc).__name__}: {exc}" if isinstance(exc, KeyError) else str(exc))
    finally:
        for progress in bars.values():
            progress.close()
    keep = not benchmark or index_dir.is_dir()  # a benchmark's own index is temporary
    previous = previous_run(index_dir, result.set_name) if keep else None
    worse = regressions(previous, result)
    stored = save_run(result, index_dir) if keep else None
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(
            {**result.as_json(), "regressions": worse, "previous_run": (previous or {}).get("path"),
             "stored_as": str(stored) if stored else None}, ensure_ascii=False, indent=1), encoding="utf-8")
    if report_out:
        click.echo(f"report: {write_report(result, report_out, worse, previous)}", err=True)
    for line in summary(result, worse):
        click.echo(line)
    if result.failures:
        sys.exit(1)


@main.command()
@click.option("--corpus", "corpus", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a JSONL archive (repeat: stories are taken in the order given)")
@click.option("--sizes", default="1000,5000,16000", show_default=True, help="corpus sizes in stories, comma-separated")
@click.option("--questions", "questions_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="an eval set (JSONL) to ask; default: 50 probes made from the first stories")
@click.option("--report", "report_out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/bench.md"),
              show_default=True, help="Markdown report; .png and .json are written beside it")
@click.option("--work", "work_dir", type=click.Path(file_okay=False, path_type=Path),
              help="empty directory for the indexes (default: a temporary one, removed at the end)")
@click.option("--no-peer", is_flag=True, help="skip the plain llama-index pipeline")
def bench(corpus: tuple[Path, ...], sizes: str, questions_file: Path | None, report_out: Path, work_dir: Path | None,
          no_peer: bool) -> None:
    """Ingest and query figures at growing corpus sizes, beside a plain llama-index pipeline.

    \b
    Example: newsqa bench --corpus ../shared/data/xwlb/xwlb_2021.jsonl --corpus ../shared/data/xwlb/xwlb_2022.jsonl \\
             --corpus ../shared/data/xwlb/xwlb_2023.jsonl --sizes 1000,5000,16000 --report reports/bench.md
    """
    import tempfile

    from eval.bench import run_bench
    from eval.bench_report import write_report

    try:
        counts = [int(size) for size in sizes.split(",") if size.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        _fail("--sizes must be positive whole numbers, e.g. 1000,5000,16000")
    command = "newsqa bench " + " ".join(sys.argv[2:])

    def write(results: list[Any]) -> None:
        click.echo(f"report: {write_report(results, report_out, command)}", err=True)

    with tempfile.TemporaryDirectory(prefix="newsqa-bench-") as scratch:
        try:
            run_bench(list(corpus), counts, work_dir or Path(scratch) / "work", questions_file, not no_peer, write,
                      lambda line: click.echo(line, err=True))
        except (ValueError, RuntimeError, OSError) as exc:
            _fail(str(exc))
    click.echo(report_out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()

"""`newsqa eval|bench`: quality and speed figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from cli_common import (
    Bars, fail, index_option, llm_options, load_engine, answerer_options,
)


@click.command(name="eval")
@click.option("--set", "set_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="eval set JSONL; NAME.dev.jsonl or NAME.test.jsonl brings its other half (default: the sample set)")
@click.option("--all-sets", is_flag=True, help="every set in eval/data, each against an index of its own archive")
@click.option("--news", "news_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="--all-sets: the national-news archive of the news set, e.g. ../shared/data/xwlb/xwlb_2023.jsonl")
@click.option("--work", "work_dir", type=click.Path(file_okay=False, path_type=Path),
              help="--all-sets: folder of the sets' indexes, kept between runs (default: eval-indexes beside --index)")
@index_option
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
@llm_options
@answerer_options
def evaluate(set_path: Path | None, all_sets: bool, news_path: Path | None, work_dir: Path | None, index_dir: Path,
             json_out: Path | None, report_out: Path | None, tolerance: float, benchmark: str | None,
             data_path: Path | None, sample: int | None, seed: int, distractors: Path | None, bench_index: Path | None,
             llm: Any, scorer: Path | None, reranker: Path | None) -> None:
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

    config = EngineConfig(llm=llm, scorer=scorer, reranker=reranker)
    with Bars() as bars:
        try:
            if benchmark:
                if data_path is None:
                    fail("--benchmark needs --data (the benchmark's file or folder)")
                results = run_benchmark(benchmark, data_path, sample, distractors, seed, bars.bar("questions", "q"),
                                        bars.bar("embedding", "chunk"), config=config, index_dir=bench_index)
            elif all_sets:
                work = work_dir or index_dir.parent / "eval-indexes"
                results = run_all_sets(work, config, news_path, say=lambda line: click.echo(line, err=True),
                                       progress=bars.bar("questions", "q"), ingest_progress=bars.bar("indexing", "chunk"))
            else:
                engine = load_engine(index_dir, None, llm, scorer, reranker)
                results = [evaluate_run(engine, half, bars.bar("questions", "q"))
                           for half in load_pair(set_path or SAMPLE_SET).halves]
        except (EvalSetError, ValueError, KeyError, OSError) as exc:
            fail(f"{type(exc).__name__}: {exc}" if isinstance(exc, KeyError) else str(exc))
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


@click.command()
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
        fail("--sizes must be positive whole numbers, e.g. 1000,5000,16000")
    command = "newsqa bench " + " ".join(sys.argv[2:])
    options = BenchOptions(questions_file, not no_peer, chronoqa, chronoqa_sample, load)

    def write(result: Any) -> None:
        click.echo(f"report: {write_report(result, report_out, command)}", err=True)

    with tempfile.TemporaryDirectory(prefix="newsqa-bench-") as scratch:
        try:
            run_bench(list(corpus), counts, work_dir or Path(scratch) / "work", options, write,
                      lambda line: click.echo(line, err=True))
        except (ValueError, RuntimeError, OSError) as exc:
            fail(str(exc))
    click.echo(report_out.read_text(encoding="utf-8"))

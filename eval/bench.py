"""`newsqa bench`: ingest and query figures at growing corpus sizes, beside two llama-index peers.

Each size's index is the previous size's index plus the next stories (ingest is incremental, as for a
newsroom adding issues), so figures at a size are cumulative: ingest seconds (as `ingest --json`
reports them: from reading the files to the last write, interpreter start-up excluded) are summed
over the steps. newsqa runs as child processes of the installed command (eval/bench_commands.py);
the peers (eval/peer.py, eval/peer_hybrid.py) run in this process with the same embedding model, the
same embedding batch and the same budget of five distinct articles a question.

After the last size, optionally: the question set again while N busy processes hold the cores
(`load`), then ChronoQA test questions whose gold passages join the index (`chronoqa`).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval import bench_commands as newsqa
from eval.bench_load import LoadWatch, busy_cores
from eval.bench_questions import (
    BenchQuestion, Retrieved, first_articles, hit_rate, load_chronoqa_test, load_questions, make_questions,
    write_questions,
)
from eval.peer import PeerPipeline
from eval.peer_hybrid import HybridPeer

SERVER_QUESTIONS = 5  # asked through the page's API before its memory is read
SIDES = ("newsqa", "peer", "hybrid")  # newsqa, the plain llama-index pipeline, llama-index hybrid


@dataclass(frozen=True)
class BenchOptions:
    """What to run besides newsqa at each size."""

    questions_file: Path | None = None  # an eval set; None: probes made from the first stories
    peer: bool = True  # the two llama-index peers
    chronoqa: Path | None = None  # chronoqa.jsonl, with chronoqa_chunk_pool.jsonl beside it
    chronoqa_sample: int = 200
    load: int = 0  # busy processes for the second run of the question set; 0: no such run
    seed: int = 0


@dataclass
class SideRun:
    """One pipeline's answers to one question set. `ms` is the warm whole query (newsqa: the whole
    answer; the first question is dropped as cold); `articles` the mean distinct articles a question
    got (the budget is five); `load` the 1-minute load average seen (mean, peak); `busy` the busy
    processes of ours that ran meanwhile (0: none, the cores were idle but for other users)."""

    hit_at_5: float
    ms: dict[str, float]
    articles: float
    load: dict[str, float]
    busy: int = 0
    retrieve_ms: dict[str, float] = field(default_factory=dict)  # newsqa only


@dataclass
class SizeFigures:
    """One corpus size: newsqa's ingest and memory, the peers' ingest, every side's query run."""

    stories: int
    chunks: int = 0
    ingest_seconds: float = 0.0
    embed_seconds: float = 0.0
    ingest_rss_mb: float = 0.0
    index_mb: float = 0.0
    cold_start_seconds: float = 0.0
    server_rss_mb: float = 0.0
    peer_nodes: int | None = None
    peer_ingest_seconds: float | None = None
    hybrid_ingest_seconds: float | None = None  # on top of the plain peer's: tokens and BM25 arrays
    load: dict[str, float] = field(default_factory=dict)  # 1-minute load average during ingest and start-up
    sides: dict[str, SideRun] = field(default_factory=dict)
    cold_steps: dict[str, float] = field(default_factory=dict)  # where one cold `ask` spends its seconds


@dataclass
class QuestionRun:
    """ChronoQA test questions over the last size's index plus their gold passages."""

    questions: int
    passages: int
    sides: dict[str, SideRun] = field(default_factory=dict)


@dataclass
class LoadRun:
    """The question set at the last size again, with `processes` busy processes on the cores."""

    processes: int
    busy: dict[str, SideRun] = field(default_factory=dict)
    busy_to_the_end: bool = True  # False: a busy process ended before the run did


@dataclass
class BenchResult:
    sizes: list[SizeFigures] = field(default_factory=list)
    load: LoadRun | None = None
    chronoqa: QuestionRun | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Peers:
    """The plain peer and the hybrid one built over its nodes."""

    plain: PeerPipeline
    hybrid: HybridPeer

    @classmethod
    def open(cls, directory: Path) -> Peers:
        from ingest.embed import load_embedder

        plain = PeerPipeline(directory, load_embedder())
        return cls(plain, HybridPeer(plain))

    def add(self, stories: list[dict[str, Any]]) -> tuple[int, float, float]:
        """(nodes, plain ingest seconds, hybrid's extra seconds) for `stories`."""
        added = self.plain.add(stories)
        return len(added.nodes), added.seconds, self.hybrid.add(added.nodes)


def run_bench(corpus: list[Path], sizes: list[int], work_dir: Path, options: BenchOptions = BenchOptions(),
              on_step: Callable[[BenchResult], None] | None = None, say: Callable[[str], None] = print) -> BenchResult:
    """Measure every size in turn, then the load and ChronoQA runs; `on_step` gets the figures so far
    after each step (to write the report).

    Raises:
        ValueError: the work directory is not empty, or the corpus holds no stories.
    """
    if work_dir.exists() and any(work_dir.iterdir()):
        raise ValueError(f"{work_dir}: the work directory must be empty (figures from a reused index would lie)")
    work_dir.mkdir(parents=True, exist_ok=True)
    stories = read_stories(corpus, max(sizes))
    if not stories:
        raise ValueError(f"no stories with 'content' in {', '.join(map(str, corpus))}")
    sizes = sorted({min(size, len(stories)) for size in sizes})
    questions = load_questions(options.questions_file) if options.questions_file \
        else make_questions(stories[: sizes[0]], seed=options.seed)
    asked = write_questions(questions, work_dir / "questions.jsonl")
    index_dir = work_dir / "index"
    peers = Peers.open(work_dir / "peer") if options.peer else None
    result = BenchResult()
    for size in sizes:
        done = result.sizes[-1].stories if result.sizes else 0
        say(f"bench: {size} stories ({size - done} new)")
        with LoadWatch() as watch:
            figures = _ingest_size(stories[done:size], index_dir, work_dir, result.sizes, peers, say)
            _start_and_memory(figures, index_dir, [q.question for q in questions], say)
        figures.load = watch.seen()
        figures.sides = _query_sides(index_dir, asked, questions, peers, say)
        result.sizes.append(figures)
        _step(result, on_step)
    if options.load:
        say(f"bench: the questions again with {options.load} busy processes")
        result.load = _load_run(options.load, index_dir, asked, questions, peers, say)
        _step(result, on_step)
    if options.chronoqa:
        result.chronoqa = _chronoqa_run(options, index_dir, work_dir, peers, say)
        _step(result, on_step)
    return result


def _step(result: BenchResult, on_step: Callable[[BenchResult], None] | None) -> None:
    if on_step:
        on_step(result)


def _ingest_size(new: list[dict[str, Any]], index_dir: Path, work_dir: Path, earlier: list[SizeFigures],
                 peers: Peers | None, say: Callable[[str], None]) -> SizeFigures:
    """Ingest the new stories: newsqa (a child `ingest`), then the peers."""
    before = earlier[-1] if earlier else SizeFigures(0)
    delta = _write_stories(new, work_dir / f"stories-{before.stories}-{before.stories + len(new)}.jsonl")
    report, rss = newsqa.ingest(delta, index_dir)
    delta.unlink()
    figures = SizeFigures(before.stories + len(new), chunks=before.chunks + report["chunks_added"],
                          ingest_seconds=before.ingest_seconds + report["seconds"],
                          embed_seconds=before.embed_seconds + report["embed_seconds"],
                          ingest_rss_mb=max(before.ingest_rss_mb, rss), index_mb=_megabytes(index_dir))
    if peers is not None:
        say("bench: the llama-index peers' ingest")
        nodes, plain, hybrid = peers.add(new)
        figures.peer_nodes = (before.peer_nodes or 0) + nodes
        figures.peer_ingest_seconds = (before.peer_ingest_seconds or 0.0) + plain
        figures.hybrid_ingest_seconds = (before.hybrid_ingest_seconds or 0.0) + hybrid
    return figures


def _start_and_memory(figures: SizeFigures, index_dir: Path, questions: list[str], say: Callable[[str], None]) -> None:
    """newsqa's cold `ask` (median of three) and the chat server's peak memory."""
    figures.cold_start_seconds = statistics.median(newsqa.cold_start(index_dir, questions[0]) for _ in range(3))
    figures.cold_steps = newsqa.cold_breakdown(index_dir, questions[0])
    say("bench: the chat server's memory")
    figures.server_rss_mb = newsqa.server_rss(index_dir, questions[:SERVER_QUESTIONS])


def _query_sides(index_dir: Path, asked: Path, questions: list[BenchQuestion], peers: Peers | None,
                 say: Callable[[str], None], busy: int = 0) -> dict[str, SideRun]:
    """Every side answers `questions` in turn: newsqa in a child `ask`, then the peers here."""
    say(f"bench: asking {len(questions)} questions")
    with LoadWatch() as watch:
        answers = newsqa.ask_all(index_dir, asked)
    records = _record_ids(index_dir)
    rankings = [first_articles((records.get(r["article_id"], r["article_id"]), r["title"]) for r in a["retrieved"])
                for a in answers]
    sides = {"newsqa": SideRun(hit_rate(questions, rankings), _percentiles([a["timings_ms"]["total"] for a in answers[1:]]),
                               _mean_length(rankings), watch.seen(), busy,
                               _percentiles([a["timings_ms"]["retrieve"] for a in answers[1:]]))}
    if peers is not None:
        say("bench: the same questions to the llama-index peers")
        sides["peer"] = _peer_side(peers.plain.articles, questions, busy)
        sides["hybrid"] = _peer_side(peers.hybrid.articles, questions, busy)
    return sides


def _record_ids(index_dir: Path) -> dict[str, str]:
    """{newsqa article id: the JSONL record id it was made from}: newsqa scopes ids by archive, the
    peers and the gold ids use the story's own id."""
    from ingest.index import Index

    index = Index.open(index_dir)
    try:
        return {article: record for record, articles in index.record_ids().items() for article in articles}
    finally:
        index.close()


def _peer_side(articles: Callable[[str], list[Retrieved]], questions: list[BenchQuestion], busy: int) -> SideRun:
    rankings, ms = [], []
    with LoadWatch() as watch:
        for q in questions:
            started = time.perf_counter()
            rankings.append(articles(q.question))
            ms.append((time.perf_counter() - started) * 1000)
    return SideRun(hit_rate(questions, rankings), _percentiles(ms[1:]), _mean_length(rankings), watch.seen(), busy)


def _load_run(processes: int, index_dir: Path, asked: Path, questions: list[BenchQuestion], peers: Peers | None,
              say: Callable[[str], None]) -> LoadRun:
    with busy_cores(processes) as spinners:
        sides = _query_sides(index_dir, asked, questions, peers, say, busy=processes)
        to_the_end = all(spinner.poll() is None for spinner in spinners)
    return LoadRun(processes, sides, to_the_end)


def _chronoqa_run(options: BenchOptions, index_dir: Path, work_dir: Path, peers: Peers | None,
                  say: Callable[[str], None]) -> QuestionRun:
    """ChronoQA's sampled test questions; their gold passages are ingested into every side's index."""
    assert options.chronoqa is not None
    questions, passages = load_chronoqa_test(options.chronoqa, options.chronoqa_sample, options.seed)
    say(f"bench: ChronoQA, {len(questions)} test questions, {len(passages)} gold passages added to the index")
    newsqa.ingest(_write_stories(passages, work_dir / "chronoqa-passages.jsonl"), index_dir)
    if peers is not None:
        peers.add(passages)
    asked = write_questions(questions, work_dir / "chronoqa-questions.jsonl")
    return QuestionRun(len(questions), len(passages), _query_sides(index_dir, asked, questions, peers, say))


def read_stories(paths: list[Path], limit: int) -> list[dict[str, Any]]:
    """The first `limit` records of the JSONL archives, in the order given (bad lines skipped)."""
    stories: list[dict[str, Any]] = []
    for path in paths:
        with path.open(encoding="utf-8-sig") as lines:
            for line in lines:
                if len(stories) >= limit:
                    return stories
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("content"), str) and record["content"].strip():
                    stories.append(record)
    return stories


def _write_stories(stories: list[dict[str, Any]], path: Path) -> Path:
    path.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in stories), encoding="utf-8")
    return path


def _mean_length(rankings: list[list[Retrieved]]) -> float:
    return round(sum(map(len, rankings)) / len(rankings), 2) if rankings else 0.0


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1)}


def _megabytes(directory: Path) -> float:
    return round(sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 2**20, 1)

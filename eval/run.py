"""Run an Engine over an eval set or a public benchmark and score it.

How an answer is scored (eval/metrics.py holds each definition):
- outcome: correct / wrong / false refusal for a question whose answer is in the archive and that
  has key points; refused / answered for one whose answer is not in the archive. The headline
  figures (answered_correctly, wrong_answer, false_refusal, refusal_precision/recall) come from it.
- retrieval_hit@k / retrieval_mrr: the gold article among the first k distinct articles of
  `Answer.retrieved`, before any answering: the retriever alone.
- answer_hit@k: over answered questions only, the articles the answer cites, ordered by their
  first place in `retrieved`; a refusal's closest passages never count as a hit.
- citation_support: of the key points found in answers, the share whose citation right after
  them quotes them. citation_validity: every [n] names a well-formed span of the article's text.
- near_miss_refused: share refused of the no-answer questions tagged "near-miss".
- metrics with nothing to measure are None (null in JSON), never a perfect 1.0.
- passed: the outcome is correct or refused, every key point found is supported, citations valid.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.metrics import (
    answer_metrics, answer_outcome, below_thresholds, gold_rank, keypoint_metrics, latency_metrics, missed_key_points,
    retrieval_metrics, share_true, supported_key_points,
)
from eval.sets import NEAR_MISS, EvalQuestion, EvalSet, load_benchmark, load_set, qrels
from rag.citations import MARKER, Answer, invalid_markers
from rag.retrieve import SearchFilter

if TYPE_CHECKING:
    from ingest.articles import Article
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
    metrics: dict[str, float | None]
    per_question: list[dict[str, Any]]
    thresholds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    articles: int = 0
    index: str = ""
    started_at: str = ""
    seconds: float = 0.0
    split: str | None = None

    @property
    def run_name(self) -> str:
        """The name stored runs are compared by: "sample.test", or the bare name of an unsplit set."""
        return f"{self.set_name}.{self.split}" if self.split else self.set_name

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["questions"] = data.pop("per_question")
        data["run_name"] = self.run_name
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


def judge(q: EvalQuestion, gold: dict[str, int], answer: Answer | None, latency: float, error: str | None,
          index: Index | None) -> dict[str, Any]:
    """One question's row: its outcome, ranks, key points found and supported, and what was missed."""
    refused = answer.no_answer if answer else False
    ranking = _ranking(answer) if answer and not refused else []
    retrieved = list(dict.fromkeys(r.article_id for r in answer.retrieved)) if answer else []
    text = answer.answer if answer and not refused else ""  # a refusal's closest passages answer nothing
    missed = missed_key_points(list(q.key_points), text)
    supported, found = supported_key_points(text, {c.n: c.quote for c in answer.citations} if answer else {},
                                            list(q.key_points))
    problems = citation_problems(answer, index) if answer else []
    outcome = answer_outcome(q.expects_answer, refused, len(missed))
    notes = [f"(error: {error})"] if error else []
    if q.expects_answer and not gold:
        notes.append("(gold article not in the index)")
    notes += {"false_refusal": ["(refused)"], "answered": ["(answered; expected a refusal)"]}.get(outcome, [])
    if found > supported:
        notes.append(f"({found - supported} key point(s) not quoted by the citation after them)")
    notes += [f"({p})" for p in problems]
    return {
        "qid": q.qid, "question": q.question, "type": q.type, "tags": list(q.tags), "outcome": outcome,
        "passed": outcome in ("correct", "refused") and found == supported and not problems and not error,
        "missed": missed + notes, "hit_rank": gold_rank(gold, as_scores(ranking)) if q.expects_answer else None,
        "retrieved_rank": gold_rank(gold, as_scores(retrieved)) if q.expects_answer else None,
        "latency_ms": latency, "answer": answer.answer if answer else "", "mode": answer.mode if answer else "",
        "no_answer": refused, "expected_no_answer": not q.expects_answer, "scored": bool(q.key_points) or not q.expects_answer,
        "key_points_found": found, "key_points_supported": supported,
        "history": list(q.history), "condensed_question": answer.condensed_question if answer else None,
        "gold": sorted(gold), "cited": ranking, "citations_valid": not problems and not error, "retrieved": retrieved,
    }


def score(eval_set: EvalSet, rows: list[dict[str, Any]], gold: dict[str, dict[str, int]]) -> dict[str, float | None]:
    """All metrics of a run from its per-question rows (as `judge` writes them)."""
    by_qid = {row["qid"]: row for row in rows}
    answered = {qid: g for qid, g in gold.items() if not by_qid[qid]["no_answer"]}
    metrics: dict[str, float | None] = {"questions": len(rows)}
    metrics |= answer_metrics({qid: row["outcome"] for qid, row in by_qid.items() if row["scored"]})
    pure = retrieval_metrics(gold, {qid: as_scores(by_qid[qid]["retrieved"]) for qid in gold})
    cited = retrieval_metrics(answered, {qid: as_scores(by_qid[qid]["cited"]) for qid in answered})
    metrics |= {f"retrieval_{name}": value if gold else None for name, value in pure.items()}
    found = sum(row["key_points_found"] for row in rows)
    metrics["citation_support"] = sum(row["key_points_supported"] for row in rows) / found if found else None
    near = [row["no_answer"] for row in rows if NEAR_MISS in row["tags"]]
    metrics["near_miss_refused"] = sum(near) / len(near) if near else None
    metrics |= {f"answer_{name}": value if answered else None for name, value in cited.items()}
    key_points = {q.qid: list(q.key_points) for q in eval_set.questions if q.expects_answer}
    answers = {qid: ("" if row["no_answer"] else row["answer"]) for qid, row in by_qid.items()}
    recall = keypoint_metrics(key_points, answers, {q.qid for q in eval_set.questions if q.type == "list"})
    metrics["keypoint_recall"] = recall["keypoint_recall"] if any(key_points.values()) else None
    has_lists = any(q.type == "list" and q.key_points for q in eval_set.questions)
    metrics["list_completeness"] = recall["list_completeness"] if has_lists else None
    metrics["citation_validity"] = share_true({qid: row["citations_valid"] for qid, row in by_qid.items()})
    metrics |= latency_metrics({qid: row["latency_ms"] for qid, row in by_qid.items() if row["latency_ms"]})
    return {name: value if value is None or name == "questions" else round(value, 4) for name, value in metrics.items()}


def gold_lookup(articles: Iterable[Article]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """({title: article ids}, {JSONL record id: article ids}): how a set's gold titles and gold ids
    find the articles of an index (see `eval.sets.qrels`)."""
    title_ids: dict[str, list[str]] = {}
    record_ids: dict[str, list[str]] = {}
    for article in articles:
        title_ids.setdefault(article.title, []).append(article.id)
        if article.meta.get("record_id"):
            record_ids.setdefault(str(article.meta["record_id"]), []).append(article.id)
    return title_ids, record_ids


def evaluate(engine: Engine, eval_set: EvalSet, progress: Progress | None = None) -> EvalResult:
    """Ask every question of `eval_set` (with its history and filters) and score the answers."""
    started_at, started = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.perf_counter()
    gold = qrels(eval_set, *gold_lookup(s.article for s in engine.index.list_articles()))
    rows: list[dict[str, Any]] = []
    for done, q in enumerate(eval_set.questions, start=1):
        answer, latency, error = _ask(engine, q)
        rows.append(judge(q, gold.get(q.qid, {}), answer, latency, error, engine.index))
        if progress:
            progress(done, len(eval_set.questions))
    metrics = score(eval_set, rows, gold)
    return EvalResult(
        set_name=eval_set.name, metrics=metrics, per_question=rows, thresholds=dict(eval_set.thresholds),
        failures=below_thresholds(metrics, eval_set.thresholds), articles=engine.index.counts()["articles"],
        index=str(engine.index.directory), started_at=started_at, seconds=round(time.perf_counter() - started, 1),
        split=eval_set.split,
    )


def evaluate_set(engine: Engine, set_path: Path | None = None, progress: Progress | None = None) -> EvalResult:
    """Run the eval set at `set_path` (default: the packaged sample dev set) against `engine`.

    Example:
        >>> result = evaluate_set(Engine(Path("data/index")))
        >>> result.metrics["answered_correctly"], [q["qid"] for q in result.per_question if not q["passed"]]
    """
    return evaluate(engine, load_set(set_path), progress)


def _write_passages(passages: dict[str, str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for passage_id, text in passages.items():
            out.write(json.dumps({"id": passage_id, "title": "", "content": text}, ensure_ascii=False) + "\n")


def ingest_benchmark(name: str, passages: dict[str, str], target: Path, distractors: Path | None,
                     embedder: Embedder, progress: Callable[[int, int, str], None] | None = None) -> None:
    """Index a benchmark's passages (kept in a file inside `target`, so the next run is the same
    source and embeds nothing again) and the distractor records into `target`.

    Raises:
        ValueError: passages that did not ingest.
    """
    from ingest.pipeline import ingest_paths

    passages_file = target / "benchmark_passages" / f"{name}.jsonl"
    _write_passages(passages, passages_file)
    inputs = [str(passages_file)] + ([str(distractors)] if distractors else [])
    report = ingest_paths(inputs, target, progress=progress, embedder=embedder)
    if report.errors:
        raise ValueError(f"the benchmark's passages did not ingest: {report.errors[0]}")


def run_benchmark(
    name: str, data_path: Path, sample: int | None = None, distractors: Path | None = None, seed: int = 0,
    progress: Progress | None = None, ingest_progress: Callable[[int, int, str], None] | None = None,
    embedder: Embedder | None = None, config: EngineConfig | None = None, index_dir: Path | None = None,
    splits: tuple[str | None, ...] = ("dev", "test"),
) -> list[EvalResult]:
    """Index a benchmark's passages (both halves' at once, plus distractor records) and run each
    half: one result per split, `sample` questions each.

    With `index_dir` the index is built there and kept, and the passages file is kept inside it
    (a stable path, so the next run is the same source); ingest is incremental, so a second run (or
    a copy of an index that already holds the distractors) embeds only what is new.

    Raises:
        ValueError: an unknown benchmark name, or passages that did not ingest.
    """
    from ingest.embed import load_embedder
    from rag.engine import Engine, EngineConfig

    halves = [load_benchmark(name, data_path, sample, seed, split) for split in splits]
    passages = {key: text for half in halves for key, text in half.passages.items()}
    embedder = embedder or load_embedder()
    with tempfile.TemporaryDirectory(prefix=f"newsqa-{name}-") as tmp:
        target = index_dir or Path(tmp) / "index"
        ingest_benchmark(name, passages, target, distractors, embedder, ingest_progress)
        engine = Engine(target, config or EngineConfig(), embedder=embedder)
        results = []
        for half in halves:
            # distractors change the task: their runs are a set of their own in the regression history
            eval_set = replace(half.eval_set, name=f"{half.eval_set.name}+{distractors.stem}") if distractors \
                else half.eval_set
            results.append(evaluate(engine, eval_set, progress))
        engine.index.close()
    extra = f" + {distractors.name}" if distractors else ""
    return [replace(result, index=f"{'kept' if index_dir else 'temporary'}: {len(passages)} passages{extra}")
            for result in results]

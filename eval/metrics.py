"""Pure metrics over BEIR-shaped dicts and per-question outcomes; hit@3 is the primary one.

Retrieval (BEIR shape): qrels {qid: {article_id: 1}}, results {qid: {article_id: score}}, higher
score = better rank. A question's rank is the 1-based position of its best-ranked gold article in
its results; hit@k is the share of questions with rank <= k, MRR the mean of 1/rank (0 when no gold
article is ranked). Every qid of qrels counts, so a question with no results is a miss.
"""

from __future__ import annotations

import unicodedata

PRIMARY = "hit@3"
DEFAULT_KS = (1, 3, 5)


def gold_rank(gold: dict[str, int], scores: dict[str, float]) -> int | None:
    """1-based rank of the best-ranked relevant id in `scores`, None when none is there."""
    ranking = sorted(scores, key=lambda doc_id: -scores[doc_id])
    return next((rank for rank, doc_id in enumerate(ranking, start=1) if gold.get(doc_id, 0) > 0), None)


def retrieval_metrics(
    qrels: dict[str, dict[str, int]], results: dict[str, dict[str, float]], ks: tuple[int, ...] = DEFAULT_KS
) -> dict[str, float]:
    """{"hit@k" for each k, "mrr"} over the qids of `qrels` (0.0 each when qrels is empty)."""
    ranks = [gold_rank(gold, results.get(qid, {})) for qid, gold in qrels.items()]
    count = len(ranks) or 1
    metrics = {f"hit@{k}": sum(1 for r in ranks if r is not None and r <= k) / count for k in ks}
    metrics["mrr"] = sum(1.0 / r for r in ranks if r is not None) / count
    return metrics


def _normal(text: str) -> str:
    # NFKC folds full-width punctuation and digits, so 「，」 in an answer matches 「,」 in the archive
    return "".join(unicodedata.normalize("NFKC", text).split())


def missed_key_points(key_points: list[str], answer: str) -> list[str]:
    """The key points not found verbatim (after NFKC, ignoring whitespace) in `answer`."""
    body = _normal(answer)
    return [point for point in key_points if _normal(point) not in body]


def keypoint_metrics(
    key_points: dict[str, list[str]], answers: dict[str, str], list_qids: set[str] | frozenset[str] = frozenset()
) -> dict[str, float]:
    """keypoint_recall: mean over questions with key points of the share found in their answer;
    list_completeness: share of `list_qids` (with key points) whose answer holds all of them."""
    shares: list[float] = []
    complete: list[bool] = []
    for qid, points in key_points.items():
        if not points:
            continue
        missed = missed_key_points(points, answers.get(qid, ""))
        shares.append(1.0 - len(missed) / len(points))
        if qid in list_qids:
            complete.append(not missed)
    return {
        "keypoint_recall": sum(shares) / len(shares) if shares else 1.0,
        "list_completeness": sum(complete) / len(complete) if complete else 1.0,
    }


def refusal_metrics(expected: dict[str, bool], refused: dict[str, bool]) -> dict[str, float]:
    """Refusal ("not in the archive") as the positive class: precision = right refusals / all
    refusals, recall = right refusals / questions that should be refused; 1.0 when the divisor is 0
    (no refusal made, or none expected), since then nothing was refused wrongly or missed."""
    right = sum(1 for qid, should in expected.items() if should and refused.get(qid, False))
    made = sum(1 for qid in expected if refused.get(qid, False))
    wanted = sum(1 for should in expected.values() if should)
    return {"no_answer_precision": right / made if made else 1.0, "no_answer_recall": right / wanted if wanted else 1.0}


def share_true(flags: dict[str, bool]) -> float:
    """Share of True values (1.0 for no values): e.g. citation validity from {qid: all [n] valid}."""
    return sum(flags.values()) / len(flags) if flags else 1.0


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_metrics(latencies_ms: dict[str, float]) -> dict[str, float]:
    """latency_ms_p50 and latency_ms_p95 of the per-question answer times."""
    values = list(latencies_ms.values())
    return {"latency_ms_p50": round(percentile(values, 50), 1), "latency_ms_p95": round(percentile(values, 95), 1)}


def below_thresholds(metrics: dict[str, float], thresholds: dict[str, float]) -> list[str]:
    """One line per metric that misses its mark: below it, or above it for latency (an upper bound);
    a mark for a metric the run did not compute is reported too, so a typo cannot pass silently."""
    failures = []
    for name, mark in sorted(thresholds.items()):
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name}: no such metric (known: {', '.join(sorted(metrics))})")
        elif name.startswith("latency") and value > mark:
            failures.append(f"{name} = {value:g} > {mark:g}")
        elif not name.startswith("latency") and value < mark:
            failures.append(f"{name} = {value:.3f} < {mark:g}")
    return failures

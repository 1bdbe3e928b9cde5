"""Pure metrics over BEIR-shaped dicts and per-question outcomes; answered_correctly is the headline.

Answer outcomes (one definition each, used by `newsqa eval`, the page and the bench): a *scored*
question expects an answer and has key points. Over the scored questions, exactly one of
- answered correctly: not refused, and every key point is in the answer text (NFKC, spaces folded);
- wrong answer: not refused, and a key point is missing (a confident mistake);
- false refusal: refused although the archive holds the answer.
Refusal precision/recall take "refused" as the positive class over every question; the
questions that should be refused are those whose answer is not in the archive. Citation support:
of the key points found in answers, the share whose citation right after them quotes text that
contains them.

Retrieval (BEIR shape): qrels {qid: {article_id: 1}}, results {qid: {article_id: score}}, higher
score = better rank. A question's rank is the 1-based position of its best-ranked gold article in
its results; hit@k is the share of questions with rank <= k, MRR the mean of 1/rank (0 when no gold
article is ranked). Every qid of qrels counts, so a question with no results is a miss.
"""

from __future__ import annotations

import re
import unicodedata

MARKER = re.compile(r"\[(\d+)\]")  # as rag.citations writes them; eval metrics stay free of rag

PRIMARY = "answered_correctly"
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


def fold(text: str) -> str:
    """NFKC with all whitespace removed: how key points are compared with answers and passages."""
    # NFKC folds full-width punctuation and digits, so 「，」 in an answer matches 「,」 in the archive
    return "".join(unicodedata.normalize("NFKC", text).split())


def missed_key_points(key_points: list[str], answer: str) -> list[str]:
    """The key points not found verbatim (after NFKC, ignoring whitespace) in `answer`."""
    body = fold(answer)
    return [point for point in key_points if fold(point) not in body]


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
    """p50_ms and p95_ms of the per-question answer times."""
    values = list(latencies_ms.values())
    return {"p50_ms": round(percentile(values, 50), 1), "p95_ms": round(percentile(values, 95), 1)}


def below_thresholds(metrics: dict[str, float | None], thresholds: dict[str, float]) -> list[str]:
    """One line per metric that misses its mark: below it, or above it for times (`*_ms`, an upper
    bound); a mark for a metric the run did not compute (or had nothing to measure) is reported
    too, so a typo cannot pass silently."""
    failures = []
    for name, mark in sorted(thresholds.items()):
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name}: not measured (known: {', '.join(sorted(k for k, v in metrics.items() if v is not None))})")
        elif name.endswith("_ms") and value > mark:
            failures.append(f"{name} = {value:g} > {mark:g}")
        elif not name.endswith("_ms") and value < mark:
            failures.append(f"{name} = {value:.3f} < {mark:g}")
    return failures


def answer_outcome(expects_answer: bool, refused: bool, missed: int) -> str:
    """'correct' | 'wrong' | 'false_refusal' for an answerable question; 'refused' | 'answered'
    for one whose answer is not in the archive."""
    if not expects_answer:
        return "refused" if refused else "answered"
    if refused:
        return "false_refusal"
    return "wrong" if missed else "correct"


def answer_metrics(outcomes: dict[str, str]) -> dict[str, float | None]:
    """Shares of the outcomes of `answer_outcome` ({qid: outcome}): answered_correctly,
    wrong_answer and false_refusal over the answerable questions (they sum to 1), refusal
    precision and recall over all; None where the divisor is 0 (nothing to measure)."""
    answerable = [o for o in outcomes.values() if o in ("correct", "wrong", "false_refusal")]
    made = [o for o in outcomes.values() if o in ("false_refusal", "refused")]
    wanted = [o for o in outcomes.values() if o in ("refused", "answered")]

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return {
        "answered_correctly": share(answerable.count("correct"), len(answerable)),
        "wrong_answer": share(answerable.count("wrong"), len(answerable)),
        "false_refusal": share(answerable.count("false_refusal"), len(answerable)),
        "refusal_precision": share(made.count("refused"), len(made)),
        "refusal_recall": share(wanted.count("refused"), len(wanted)),
    }


def _segments(answer: str) -> list[tuple[str, list[int]]]:
    """The answer cut after each run of [n] markers: (text before the run, the run's numbers)."""
    pieces: list[tuple[str, list[int]]] = []
    text, numbers, last = "", [], 0
    for match in MARKER.finditer(answer):
        between = answer[last : match.start()]
        if between.strip() or not numbers:
            if numbers:
                pieces.append((text, numbers))
            text, numbers = between, []
        numbers.append(int(match.group(1)))
        last = match.end()
    if numbers:
        pieces.append((text, numbers))
    return pieces


def supported_key_points(answer: str, quotes: dict[int, str], key_points: list[str]) -> tuple[int, int]:
    """(supported, found): of the key points found in `answer`, how many sit in a stretch whose
    citation right after it ([n], or a run [n][m]) quotes text containing them. `quotes` maps a
    citation number to the words it quotes. A key point cut by a marker is found but unsupported."""
    segments = [(fold(text), [fold(quotes.get(n, "")) for n in numbers]) for text, numbers in _segments(answer)]
    body = fold(answer)
    found = supported = 0
    for point in (fold(p) for p in key_points):
        if point not in body:
            continue
        found += 1
        if any(point in text and any(point in quote for quote in cited) for text, cited in segments):
            supported += 1
    return supported, found

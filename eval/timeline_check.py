"""How often the answers to ChronoQA's date comparisons agree with the dataset's own answers.

    python -m eval.timeline_check --data ../shared/data/chronoqa/chronoqa.jsonl --index W/bench-chronoqa

`newsqa eval` scores an answer by key points found verbatim in a gold passage; ChronoQA's answers to
「A和B是在同一个月吗？」 (是的 / 不是) or 「哪个更早发生？」 (an event's name) rarely are, so those questions count
for refusals only. This asks the comparison questions (rag/timeline.py) of the same seeded sample
`newsqa eval --benchmark chronoqa` draws, against an index it built (`--bench-index`), and compares the
verdict: 是/不是 for 「同一…吗」, the event named for 「哪个最早/最晚」 (order questions are listed, not judged).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eval.sets import load_benchmark
from rag.timeline import Comparison, parse_comparison


def agrees(comparison: Comparison, verdict: str, gold: str) -> bool | None:
    """Whether our first answer line says what ChronoQA's answer says; None for an order question."""
    if comparison.asks == "same":
        return verdict.startswith("是") == gold.lstrip().startswith(("是", "对"))
    if comparison.asks in ("earliest", "latest"):
        named = [event for event in comparison.events if event in verdict]
        return bool(named) and any(event in gold or gold.rstrip("。").strip() in event for event in named)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="chronoqa.jsonl")
    parser.add_argument("--index", type=Path, required=True, help="an index `newsqa eval --benchmark chronoqa` built")
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--sample", type=int, default=300, help="the sample size the eval drew")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from rag.engine import Engine

    benchmark = load_benchmark("chronoqa", args.data, args.sample, args.seed, args.split)
    answers = {f"chronoqa-{r['qid']}": str(r.get("answer") or "")
               for r in map(json.loads, args.data.read_text(encoding="utf-8").splitlines()) if r}
    engine = Engine(args.index)
    counts = {"comparisons": 0, "answered": 0, "agree": 0, "disagree": 0}
    for q in benchmark.eval_set.questions:
        comparison = parse_comparison(q.question)
        if comparison is None:
            continue
        counts["comparisons"] += 1
        answer = engine.ask(q.question)
        if answer.no_answer:
            continue
        counts["answered"] += 1
        verdict = answer.answer.split("\n")[0]
        agreed = agrees(comparison, verdict, answers[q.qid])
        if agreed is not None:
            counts["agree" if agreed else "disagree"] += 1
        mark = "?" if agreed is None else "ok" if agreed else "NO"
        print(f"{mark:2} {q.question} | ChronoQA: {answers[q.qid][:40]} | ours: {verdict}", file=sys.stderr)
    print(json.dumps(counts, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

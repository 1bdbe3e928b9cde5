"""The Markdown report with its chart, and the regression view against the previous run.

Runs are kept beside the index as INDEX_DIR/eval_runs/<UTC timestamp>.json (the `EvalResult`
JSON, which names its set, article count and time); a run compares itself with the newest stored
run of the same set.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eval.run import EvalResult

RUNS_DIR = "eval_runs"
# rates shown in the chart, in this order; latency has its own unit and stays in the table
CHART_METRICS = ("hit@1", "hit@3", "hit@5", "mrr", "keypoint_recall", "list_completeness", "no_answer_precision",
                 "no_answer_recall", "citation_validity")


def save_run(result: EvalResult, index_dir: Path) -> Path:
    """Store the run under INDEX_DIR/eval_runs/ and return its path."""
    runs = Path(index_dir) / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')}.json"
    path.write_text(json.dumps(result.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def previous_run(index_dir: Path, set_name: str) -> dict[str, Any] | None:
    """The newest stored run of `set_name`, None when there is none (unreadable files are skipped)."""
    runs = Path(index_dir) / RUNS_DIR
    for path in sorted(runs.glob("*.json"), reverse=True) if runs.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if data.get("set_name") == set_name:
            return dict(data, path=str(path))
    return None


def _worse(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    reasons = []
    if before.get("passed") and not after["passed"]:
        reasons.append("passed before, fails now")
    old_rank, new_rank = before.get("hit_rank"), after["hit_rank"]
    if old_rank is not None and (new_rank is None or new_rank > old_rank):
        reasons.append(f"gold rank {old_rank} -> {new_rank if new_rank is not None else 'none'}")
    newly_missed = [m for m in after["missed"] if m not in before.get("missed", [])]
    if newly_missed:
        reasons.append("now misses " + "; ".join(newly_missed))
    return reasons


def regressions(previous: dict[str, Any] | None, result: EvalResult) -> list[dict[str, Any]]:
    """Questions (by qid) that got worse since `previous`: {qid, question, reasons}."""
    if not previous:
        return []
    before = {row["qid"]: row for row in previous.get("questions", [])}
    worse = []
    for row in result.per_question:
        if row["qid"] in before:
            reasons = _worse(before[row["qid"]], row)
            if reasons:
                worse.append({"qid": row["qid"], "question": row["question"], "reasons": reasons})
    return worse


def write_chart(result: EvalResult, path: Path, previous: dict[str, Any] | None = None) -> Path:
    """A horizontal bar chart of the rate metrics (with the previous run's, when given) as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    names = [n for n in CHART_METRICS if n in result.metrics]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.2), dpi=100)
    positions = list(range(len(names)))
    if previous:
        old = [previous.get("metrics", {}).get(n, 0.0) for n in names]
        ax.barh([p + 0.2 for p in positions], old, height=0.4, color="#bbbbbb", label="previous run")
    ax.barh([p - 0.2 if previous else p for p in positions], [result.metrics[n] for n in names],
            height=0.4 if previous else 0.6, color="#3b75af", label="this run")
    for position, name in zip(positions, names):
        if name in result.thresholds:
            ax.plot([result.thresholds[name]] * 2, [position - 0.4, position + 0.4], color="#c0392b", linewidth=2)
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05)
    ax.set_title(f"{result.set_name}: {len(result.per_question)} questions (red: threshold)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize="small", frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(result: EvalResult, worse: list[dict[str, Any]], chart: str | None, previous: dict[str, Any] | None) -> str:
    """The report text: metrics (with the previous run's), threshold failures, regressions, per-question table."""
    lines = [f"# Eval: {result.set_name}", "",
             f"{len(result.per_question)} questions, index `{result.index}` ({result.articles} articles), "
             f"run {result.started_at} in {result.seconds:.1f}s.", ""]
    if chart:
        lines += [f"![metrics]({chart})", ""]
    old = (previous or {}).get("metrics", {})
    lines += ["| metric | value | previous | threshold |", "|---|---|---|---|"]
    for name, value in result.metrics.items():
        mark = result.thresholds.get(name)
        lines.append(f"| {name} | {value:g} | {old.get(name, '')} | {'' if mark is None else mark} |")
    lines += ["", "## Thresholds", ""]
    lines += [f"- FAILED {f}" for f in result.failures] or ["All thresholds met." if result.thresholds else "No thresholds set."]
    lines += ["", "## Got worse since the previous run", ""]
    if previous is None:
        lines.append("No previous run of this set.")
    else:
        lines += [f"- `{w['qid']}` {_cell(w['question'])}: {'; '.join(w['reasons'])}" for w in worse] or ["Nothing."]
    lines += ["", "## Questions", "", "| qid | type | passed | gold rank | ms | missed | answer |", "|---|---|---|---|---|---|---|"]
    for row in result.per_question:
        answer = row["answer"] if len(row["answer"]) <= 80 else row["answer"][:80] + "…"
        lines.append(f"| {row['qid']} | {row['type']} | {'yes' if row['passed'] else '**no**'} | "
                     f"{row['hit_rank'] if row['hit_rank'] is not None else '-'} | {row['latency_ms']:.0f} | "
                     f"{_cell('; '.join(row['missed']))} | {_cell(answer)} |")
    return "\n".join(lines) + "\n"


def write_report(result: EvalResult, path: Path, worse: list[dict[str, Any]], previous: dict[str, Any] | None) -> Path:
    """Write the Markdown report and its chart (same name, .png) side by side."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chart = write_chart(result, path.with_suffix(".png"), previous)
    path.write_text(markdown(result, worse, chart.name, previous), encoding="utf-8")
    return path


def summary(result: EvalResult, worse: list[dict[str, Any]]) -> list[str]:
    """The lines `newsqa eval` prints: metrics, failing questions, regressions, threshold failures."""
    lines = [f"{result.set_name}: {len(result.per_question)} questions, {result.articles} articles, {result.seconds:.1f}s"]
    lines += [f"  {name:20} {value:g}" for name, value in result.metrics.items()]
    failed = [row for row in result.per_question if not row["passed"]]
    lines += [f"failed {len(failed)}:"] if failed else []
    lines += [f"  {row['qid']}: {'; '.join(row['missed'])}" for row in failed[:30]]
    lines += [f"  … and {len(failed) - 30} more (see --report / --json)"] if len(failed) > 30 else []
    lines += [f"got worse since the previous run: {w['qid']}: {'; '.join(w['reasons'])}" for w in worse]
    lines += [f"below threshold: {f}" for f in result.failures]
    return lines

"""The Markdown report with its chart, and the regression view against the previous run.

Runs are kept beside the index as INDEX_DIR/eval_runs/<UTC timestamp>.json (the `EvalResult`
JSON, which names its set, article count and time); a run compares itself with the newest stored
run of the same set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eval.run import EvalResult

RUNS_DIR = "eval_runs"
# rates shown in the chart, in this order; latency has its own unit and stays in the table
CHART_METRICS = ("answered_correctly", "wrong_answer", "false_refusal", "refusal_precision", "refusal_recall",
                 "near_miss_refused", "retrieval_hit@5", "answer_hit@1", "citation_support", "keypoint_recall",
                 "list_completeness", "citation_validity")
# the columns of the one table `newsqa eval` prints (and the page shows, in Chinese)
TABLE_COLUMNS = ("answered_correctly", "wrong_answer", "false_refusal", "refusal_precision", "refusal_recall",
                 "near_miss_refused", "retrieval_hit@5", "citation_support", "p50_ms")
# short headers so the table fits a terminal; `newsqa eval --help` and README spell them out
HEADERS = {"answered_correctly": "correct", "wrong_answer": "wrong", "false_refusal": "false-ref",
           "refusal_precision": "ref-P", "refusal_recall": "ref-R", "near_miss_refused": "near-miss",
           "retrieval_hit@5": "hit@5", "citation_support": "cite-sup", "p50_ms": "p50-ms"}
LOWER_IS_BETTER = frozenset({"wrong_answer", "false_refusal", "p50_ms", "p95_ms"})
DEFAULT_TOLERANCE = 0.02  # a test figure may move this much (absolute share) before it counts as a drop


def save_run(result: EvalResult, index_dir: Path) -> Path:
    """Store the run under INDEX_DIR/eval_runs/ and return its path."""
    runs = Path(index_dir) / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')}.json"
    path.write_text(json.dumps(result.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def previous_run(index_dir: Path, run_name: str) -> dict[str, Any] | None:
    """The newest stored run of `run_name` ("sample.test"), None when there is none (unreadable
    files are skipped)."""
    runs = Path(index_dir) / RUNS_DIR
    for path in sorted(runs.glob("*.json"), reverse=True) if runs.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if data.get("run_name", data.get("set_name")) == run_name:
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


@dataclass(frozen=True)
class SuiteRun:
    """Runs of several halves: the results, the previous stored runs they are compared with, the
    questions and test figures that got worse, and where the runs were saved."""

    results: list[EvalResult]
    previous: dict[str, dict[str, Any] | None]
    worse: dict[str, list[dict[str, Any]]]
    dropped: list[str]
    stored: list[Path]


def compare_and_save(results: list[EvalResult], index_dir: Path, keep: bool = True,
                     tolerance: float = DEFAULT_TOLERANCE) -> SuiteRun:
    """Compare each run with the previous stored run of its set and half, then store it under
    INDEX_DIR/eval_runs/; with `keep` False (a benchmark's temporary index) nothing is read or stored."""
    previous = {r.run_name: previous_run(index_dir, r.run_name) if keep else None for r in results}
    worse = {r.run_name: regressions(previous[r.run_name], r) for r in results}
    stored = [save_run(r, index_dir) for r in results] if keep else []
    return SuiteRun(results, previous, worse, drops(results, previous, tolerance), stored)


def write_chart(result: EvalResult, path: Path, previous: dict[str, Any] | None = None) -> Path:
    """A horizontal bar chart of the rate metrics (with the previous run's, when given) as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    names = [n for n in CHART_METRICS if result.metrics.get(n) is not None]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.2), dpi=100)
    positions = list(range(len(names)))
    if previous:
        old = [previous.get("metrics", {}).get(n) or 0.0 for n in names]
        ax.barh([p + 0.2 for p in positions], old, height=0.4, color="#bbbbbb", label="previous run")
    ax.barh([p - 0.2 if previous else p for p in positions], [result.metrics[n] for n in names],
            height=0.4 if previous else 0.6, color="#3b75af", label="this run")
    for position, name in zip(positions, names):
        if name in result.thresholds:
            ax.plot([result.thresholds[name]] * 2, [position - 0.4, position + 0.4], color="#c0392b", linewidth=2)
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05)
    ax.set_title(f"{result.run_name}: {len(result.per_question)} questions (red: threshold)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize="small", frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(result: EvalResult, worse: list[dict[str, Any]], chart: str | None, previous: dict[str, Any] | None) -> str:
    """The report text: metrics (with the previous run's), threshold failures, regressions, per-question table."""
    lines = [f"# Eval: {result.run_name}", "",
             f"{len(result.per_question)} questions, index `{result.index}` ({result.articles} articles), "
             f"run {result.started_at} in {result.seconds:.1f}s.", ""]
    if chart:
        lines += [f"![metrics]({chart})", ""]
    old = (previous or {}).get("metrics", {})
    lines += ["| metric | value | previous | threshold |", "|---|---|---|---|"]
    for name, value in result.metrics.items():
        mark = result.thresholds.get(name)
        lines.append(f"| {name} | {_figure(value)} | {_figure(old.get(name))} | {'' if mark is None else mark} |")
    lines += ["", "## Thresholds", ""]
    lines += [f"- FAILED {f}" for f in result.failures] or ["All thresholds met." if result.thresholds else "No thresholds set."]
    lines += ["", "## Got worse since the previous run", ""]
    if previous is None:
        lines.append("No previous run of this set.")
    else:
        lines += [f"- `{w['qid']}` {_cell(w['question'])}: {'; '.join(w['reasons'])}" for w in worse] or ["Nothing."]
    lines += ["", "## Questions", "", "| qid | type | outcome | gold rank | ms | missed | answer |", "|---|---|---|---|---|---|---|"]
    for row in result.per_question:
        answer = row["answer"] if len(row["answer"]) <= 80 else row["answer"][:80] + "…"
        outcome = row.get("outcome", "") if row["passed"] else f"**{row.get('outcome', 'no')}**"
        lines.append(f"| {row['qid']} | {row['type']} | {outcome} | "
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


def _figure(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return f"{value:.0f}" if isinstance(value, float) and value >= 10 else f"{value:.2f}" if isinstance(value, float) else str(value)


def _change(name: str, value: float | None, before: float | None) -> str:
    if value is None or before is None:
        return ""
    delta = value - before
    return "" if abs(delta) < 0.005 else f" ({delta:+.0f})" if name.endswith("_ms") else f" ({delta:+.2f})"


def table(results: list[EvalResult], previous: dict[str, dict[str, Any] | None]) -> list[str]:
    """The one table: a row per set and split, a column per headline figure, each with its change
    since the previous run of that set and split (`previous` maps run names to stored runs)."""
    header = ["set", "split", "questions", *(HEADERS[n] for n in TABLE_COLUMNS)]
    rows = [header]
    for result in results:
        old = (previous.get(result.run_name) or {}).get("metrics", {})
        rows.append([result.set_name, result.split or "-", str(result.metrics.get("questions", len(result.per_question))),
                     *[_figure(result.metrics.get(n)) + _change(n, result.metrics.get(n), old.get(n)) for n in TABLE_COLUMNS]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def dropped_figures(results: list[EvalResult], previous: dict[str, dict[str, Any] | None],
                    tolerance: float = DEFAULT_TOLERANCE) -> list[tuple[str, str, float, float]]:
    """(run name, figure, before, now) for each test figure that got worse than the previous run by
    more than `tolerance` (a share; times are not judged here, they depend on the machine's load): a
    drop on a test half is a regression even when the dev half improved."""
    found = []
    for result in (r for r in results if r.split == "test"):
        old = (previous.get(result.run_name) or {}).get("metrics", {})
        for name in (n for n in TABLE_COLUMNS if not n.endswith("_ms")):
            value, before = result.metrics.get(name), old.get(name)
            if value is None or before is None:
                continue
            worse = value - before if name in LOWER_IS_BETTER else before - value
            if worse > tolerance:
                found.append((result.run_name, name, before, value))
    return found


def drops(results: list[EvalResult], previous: dict[str, dict[str, Any] | None],
          tolerance: float = DEFAULT_TOLERANCE) -> list[str]:
    """`dropped_figures` as lines: "sample.test: answered_correctly 0.900 -> 0.820"."""
    return [f"{run}: {name} {before:.3f} -> {now:.3f}" for run, name, before, now in dropped_figures(results, previous, tolerance)]


def suite_json(results: list[EvalResult]) -> dict[str, Any]:
    """{"sets": {name: {"dev": metrics, "test": metrics}}}; an unsplit set's run goes under "dev"."""
    sets: dict[str, dict[str, Any]] = {}
    for result in results:
        sets.setdefault(result.set_name, {})[result.split or "dev"] = result.metrics
    return {"sets": sets}


def summary(result: EvalResult, worse: list[dict[str, Any]]) -> list[str]:
    """The lines under the table for one run: failing questions, regressions, threshold failures."""
    failed = [row for row in result.per_question if not row["passed"]]
    lines = [f"{result.run_name}: {len(failed)} of {len(result.per_question)} questions not passed"] if failed else []
    lines += [f"  {row['qid']}: {'; '.join(row['missed'])}" for row in failed[:15]]
    lines += [f"  … and {len(failed) - 15} more (see --report / --json)"] if len(failed) > 15 else []
    lines += [f"{result.run_name}: got worse since the previous run: {w['qid']}: {'; '.join(w['reasons'])}" for w in worse]
    lines += [f"{result.run_name}: below threshold: {f}" for f in result.failures]
    return lines

"""The `newsqa bench` report: figures per size, the peers side by side, load and ChronoQA runs, the
targets, a PNG plot. Every timing says what the cores were doing."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eval.bench import SIDES, BenchResult, SideRun, SizeFigures

LABELS = {"newsqa": "newsqa (whole answer)", "peer": "llama-index vector (plain)",
          "hybrid": "llama-index hybrid (vector + BM25, RRF)"}
ABOUT = [
    "**What the questions measure.** The default questions are *lexical probes* made from the first stories "
    "(a headline, or the first 60 % of a body sentence): they show speed and whether retrieval still finds a "
    "known story as the archive grows, not answer quality. The ChronoQA run (if any) is *question-based*: "
    "questions written about news passages, the passages ingested among the stories as distractors.",
    "**Same budget on every side.** The same embedding model, called with newsqa's ingest batch; hit@5 counts the "
    "gold story among the first five *distinct* articles a side returns. The peers ask their retriever for more "
    "nodes until five distinct stories are there; newsqa counts the distinct articles among the 8 chunks its "
    "answerer reads (`articles/q` shows what each side really had).",
    "**Cores.** `idle` = no busy processes of ours (other programs on the machine may still run: the 1-minute "
    "load average seen during the run, mean/peak, says how much); `busy N` = N spinning processes of ours.",
]


@dataclass(frozen=True)
class Target:
    name: str
    limit: str
    measured: float | None
    met: bool | None  # None: not measurable in this run (e.g. no peer, or a single size)


def targets(results: list[SizeFigures]) -> list[Target]:
    """The issue's targets, judged at the largest size measured (idle runs)."""
    first, last = results[0], results[-1]
    ours, peer = last.sides.get("newsqa"), last.sides.get("peer")
    p50, p95 = (ours.ms.get("p50"), ours.ms.get("p95")) if ours else (None, None)
    first_p50 = first.sides["newsqa"].ms.get("p50") if "newsqa" in first.sides else None
    growth = p50 / first_p50 if len(results) > 1 and p50 and first_p50 else None
    overhead = last.ingest_seconds / last.embed_seconds if last.embed_seconds else None
    speed = ours.retrieve_ms["p50"] / peer.ms["p50"] if ours and peer and ours.retrieve_ms and peer.ms else None
    gap = ours.hit_at_5 - peer.hit_at_5 if ours and peer else None
    return [
        Target("whole answer, median (ms)", "<= 80", p50, None if p50 is None else p50 <= 80),
        Target("whole answer, p95 (ms)", "<= 200", p95, None if p95 is None else p95 <= 200),
        Target(f"answer median at {last.stories} / at {first.stories} stories", "<= 1.5", _round(growth),
               None if growth is None else growth <= 1.5),
        Target("ingest wall time / time inside the embedding model", "<= 1.15", _round(overhead),
               None if overhead is None else overhead <= 1.15),
        Target("chat server peak RSS (MB)", "<= 1536", last.server_rss_mb, last.server_rss_mb <= 1536),
        Target("our retrieval median / plain peer query median", "<= 0.5", _round(speed),
               None if speed is None else speed <= 0.5),
        Target("our hit@5 - plain peer hit@5", ">= 0", _round(gap), None if gap is None else gap >= 0),
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def write_plot(results: list[SizeFigures], path: Path) -> Path:
    """Latency (idle runs) and memory against corpus size, as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    sizes = [r.stories for r in results]
    fig, (latency, memory) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    for side in SIDES:
        for key, style in (("p50", "-"), ("p95", ":")):
            values = [r.sides[side].ms.get(key) if side in r.sides else None for r in results]
            if all(v is not None for v in values):
                latency.plot(sizes, values, style, marker="o", label=f"{LABELS[side]} {key}")
    latency.set(xlabel="stories", ylabel="ms (warm, idle cores)", title="query latency")
    latency.legend(fontsize="x-small")
    memory.plot(sizes, [r.ingest_rss_mb for r in results], marker="o", label="ingest peak RSS")
    memory.plot(sizes, [r.server_rss_mb for r in results], marker="o", label="chat server peak RSS")
    memory.set(xlabel="stories", ylabel="MB", title="memory")
    memory.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join("–" if c is None else str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _pair(values: dict[str, float]) -> str | None:
    return f"{values['p50']} / {values['p95']}" if values else None


def _ratio(ours: float | None, peer: float | None) -> float | None:
    return round(ours / peer, 2) if ours is not None and peer else None


def cores(run: SideRun) -> str:
    """`idle, load 0.9/1.4` or `busy 2, load 3.8/4.1` (1-minute load average, mean/peak)."""
    state = f"busy {run.busy}" if run.busy else "idle"
    return f"{state}, load {run.load.get('mean')}/{run.load.get('peak')}"


def _side_rows(sides: dict[str, SideRun], lead: list[Any]) -> list[list[Any]]:
    return [[*lead, LABELS[name], run.hit_at_5, run.articles, _pair(run.ms), _pair(run.retrieve_ms), cores(run)]
            for name, run in sides.items()]


def _sizes(results: list[SizeFigures]) -> list[str]:
    lines = ["## newsqa: ingest and memory", ""]
    lines += _table(["stories", "chunks", "ingest s", "chunks/s", "embedding share", "index MB", "ingest RSS MB",
                     "cold ask s", "server RSS MB", "cores"],
                    [[r.stories, r.chunks, round(r.ingest_seconds, 1), round(r.chunks / r.ingest_seconds, 1),
                      f"{r.embed_seconds / r.ingest_seconds:.1%}", r.index_mb, round(r.ingest_rss_mb),
                      r.cold_start_seconds, round(r.server_rss_mb), cores(SideRun(0.0, {}, 0.0, r.load))]
                     for r in results])
    if any(r.cold_steps for r in results):
        lines += ["", "## Where a cold `ask` spends its time (one run per size, seconds)", ""]
        steps = list(dict.fromkeys(step for r in results for step in r.cold_steps))
        lines += _table(["stories", *steps], [[r.stories, *(r.cold_steps.get(step, "") for step in steps)] for r in results])
    lines += ["", "## Questions at each size (warm; first question dropped as cold)", ""]
    lines += _table(["stories", "side", "hit@5", "articles/q", "query p50/p95 ms", "retrieval p50/p95 ms", "cores"],
                    [row for r in results for row in _side_rows(r.sides, [r.stories])])
    if any(r.peer_ingest_seconds is not None for r in results):
        lines += ["", "## The peers' ingest, and newsqa against them (idle runs)", ""]
        lines += _table(["stories", "peer nodes", "plain ingest s", "hybrid extra s", "ingest ours/plain",
                         "retrieval ours/plain (p50)", "answer ours/plain (p50)", "answer ours/hybrid (p50)"],
                        [[r.stories, r.peer_nodes, _round(r.peer_ingest_seconds), _round(r.hybrid_ingest_seconds),
                          _ratio(r.ingest_seconds, r.peer_ingest_seconds),
                          _ratio(r.sides["newsqa"].retrieve_ms.get("p50"), r.sides["peer"].ms.get("p50")),
                          _ratio(r.sides["newsqa"].ms.get("p50"), r.sides["peer"].ms.get("p50")),
                          _ratio(r.sides["newsqa"].ms.get("p50"), r.sides["hybrid"].ms.get("p50"))] for r in results])
    return lines


def _load(result: BenchResult) -> list[str]:
    if result.load is None:
        return []
    last, load = result.sizes[-1], result.load
    lines = ["", f"## Under load: the same questions with {load.processes} busy processes ({last.stories} stories)", ""]
    rows = []
    for name, busy in load.busy.items():
        idle = last.sides[name]
        rows.append([LABELS[name], _pair(idle.ms), _pair(busy.ms), _ratio(busy.ms.get("p50"), idle.ms.get("p50")),
                     _ratio(busy.ms.get("p95"), idle.ms.get("p95")), cores(idle), cores(busy)])
    lines += _table(["side", "idle p50/p95 ms", "busy p50/p95 ms", "p50 busy/idle", "p95 busy/idle",
                     "idle cores", "busy cores"], rows)
    if not load.busy_to_the_end:
        lines += ["", "A busy process ended before the run did: the busy figures are partly idle."]
    return lines


def _chronoqa(result: BenchResult) -> list[str]:
    if result.chronoqa is None:
        return []
    run = result.chronoqa
    lines = ["", f"## ChronoQA (question-based): {run.questions} test questions, their {run.passages} gold passages "
             f"among {result.sizes[-1].stories} stories", ""]
    return lines + _table(["side", "hit@5", "articles/q", "query p50/p95 ms", "retrieval p50/p95 ms", "cores"],
                          _side_rows(run.sides, []))


def markdown(result: BenchResult, command: str, plot: str) -> str:
    results = result.sizes
    lines = [f"# newsqa bench, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "", f"Command: `{command}`", "",
             f"Machine: {os.cpu_count()} CPU cores, {platform.machine()}, Python {platform.python_version()}. "
             "Ingest figures are cumulative over the sizes (each index grows from the previous one).", ""]
    for paragraph in ABOUT:
        lines += [paragraph, ""]
    lines += _sizes(results) + _load(result) + _chronoqa(result)
    lines += ["", f"## Targets (at {results[-1].stories} stories, idle runs)", ""]
    lines += _table(["target", "limit", "measured", "met"],
                    [[t.name, t.limit, t.measured, {True: "yes", False: "**no**", None: "–"}[t.met]]
                     for t in targets(results)])
    lines += ["", f"![latency and memory against corpus size]({plot})", ""]
    return "\n".join(lines)


def write_report(result: BenchResult, path: Path, command: str) -> Path:
    """OUT.md with OUT.png and OUT.json beside it; rewritten after each step, so a long run leaves figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    plot = write_plot(result.sizes, path.with_suffix(".png"))
    path.with_suffix(".json").write_text(json.dumps(result.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    path.write_text(markdown(result, command, plot.name), encoding="utf-8")
    return path

"""The `newsqa bench` report: figures per size, the peer side by side, the targets, a PNG plot."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eval.bench import SizeFigures


@dataclass(frozen=True)
class Target:
    name: str
    limit: str
    measured: float | None
    met: bool | None  # None: not measurable in this run (e.g. no peer, or a single size)


def targets(results: list[SizeFigures]) -> list[Target]:
    """The issue's targets, judged at the largest size measured."""
    first, last = results[0], results[-1]
    p50, p95 = last.answer_ms.get("p50"), last.answer_ms.get("p95")
    growth = p50 / first.answer_ms["p50"] if len(results) > 1 and p50 and first.answer_ms.get("p50") else None
    overhead = last.ingest_seconds / last.embed_seconds if last.embed_seconds else None
    speed = (last.retrieve_ms["p50"] / last.peer_query_ms["p50"]) if last.peer_query_ms and last.retrieve_ms else None
    return [
        Target("whole answer, median (ms)", "<= 80", p50, None if p50 is None else p50 <= 80),
        Target("whole answer, p95 (ms)", "<= 200", p95, None if p95 is None else p95 <= 200),
        Target(f"answer median at {last.stories} / at {first.stories} stories", "<= 1.5", _round(growth),
               None if growth is None else growth <= 1.5),
        Target("ingest wall time / time inside the embedding model", "<= 1.15", _round(overhead),
               None if overhead is None else overhead <= 1.15),
        Target("chat server peak RSS (MB)", "<= 1536", last.server_rss_mb, last.server_rss_mb <= 1536),
        Target("our retrieval median / peer query median", "<= 0.5", _round(speed), None if speed is None else speed <= 0.5),
        Target("our hit@5 - peer hit@5", ">= 0", _round(last.hit_at_5 - last.peer_hit_at_5)
               if last.peer_hit_at_5 is not None else None,
               None if last.peer_hit_at_5 is None else last.hit_at_5 >= last.peer_hit_at_5),
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def write_plot(results: list[SizeFigures], path: Path) -> Path:
    """Latency and memory against corpus size, as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    sizes = [r.stories for r in results]
    fig, (latency, memory) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    for label, key, series in (("answer p50", "p50", "answer_ms"), ("answer p95", "p95", "answer_ms"),
                               ("retrieval p50", "p50", "retrieve_ms"), ("peer query p50", "p50", "peer_query_ms")):
        values = [getattr(r, series).get(key) for r in results]
        if all(v is not None for v in values):
            latency.plot(sizes, values, marker="o", label=label)
    latency.set(xlabel="stories", ylabel="ms (warm)", title="query latency")
    latency.legend(fontsize="small")
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


def markdown(results: list[SizeFigures], command: str, plot: str) -> str:
    lines = [f"# newsqa bench, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "",
             f"Command: `{command}`", "",
             f"Machine: {os.cpu_count()} CPU cores, {platform.machine()}, Python {platform.python_version()}. "
             "Ingest figures are cumulative over the sizes (each index grows from the previous one).", "",
             "## newsqa", "",
             _row(["stories", "chunks", "ingest s", "chunks/s", "embedding share", "index MB", "ingest RSS MB",
                   "retrieval p50/p95 ms", "answer p50/p95 ms", "cold ask s", "server RSS MB", "hit@5"]),
             _row(["---"] * 12)]
    for r in results:
        lines.append(_row([r.stories, r.chunks, round(r.ingest_seconds, 1), round(r.chunks / r.ingest_seconds, 1),
                           f"{r.embed_seconds / r.ingest_seconds:.1%}", r.index_mb, round(r.ingest_rss_mb),
                           _pair(r.retrieve_ms), _pair(r.answer_ms), r.cold_start_seconds, round(r.server_rss_mb),
                           r.hit_at_5]))
    if any(r.peer_ingest_seconds is not None for r in results):
        lines += ["", "## Plain llama-index pipeline (same model) and ratios", "",
                  _row(["stories", "peer nodes", "peer ingest s", "peer query p50/p95 ms", "peer hit@5",
                        "ingest ours/peer", "retrieval ours/peer (p50)", "answer ours/peer (p50)"]),
                  _row(["---"] * 8)]
        for r in results:
            lines.append(_row([r.stories, r.peer_nodes, _round(r.peer_ingest_seconds), _pair(r.peer_query_ms),
                               r.peer_hit_at_5, _ratio(r.ingest_seconds, r.peer_ingest_seconds),
                               _ratio(r.retrieve_ms.get("p50"), r.peer_query_ms.get("p50")),
                               _ratio(r.answer_ms.get("p50"), r.peer_query_ms.get("p50"))]))
    lines += ["", f"## Targets (at {results[-1].stories} stories)", "", _row(["target", "limit", "measured", "met"]),
              _row(["---"] * 4)]
    for t in targets(results):
        lines.append(_row([t.name, t.limit, t.measured, {True: "yes", False: "**no**", None: "–"}[t.met]]))
    lines += ["", f"![latency and memory against corpus size]({plot})", ""]
    return "\n".join(lines)


def _pair(values: dict[str, float]) -> str | None:
    return f"{values['p50']} / {values['p95']}" if values else None


def _ratio(ours: float | None, peer: float | None) -> float | None:
    return round(ours / peer, 2) if ours is not None and peer else None


def write_report(results: list[SizeFigures], path: Path, command: str) -> Path:
    """OUT.md with OUT.png and OUT.json beside it; rewritten after each size, so a long run leaves figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    plot = write_plot(results, path.with_suffix(".png"))
    path.with_suffix(".json").write_text(json.dumps([r.as_json() for r in results], ensure_ascii=False, indent=1),
                                         encoding="utf-8")
    path.write_text(markdown(results, command, plot.name), encoding="utf-8")
    return path

"""The installed `newsqa` command as child processes, for `newsqa bench`.

Ingest, `ask`, the cold start and the chat server run as children so their peak memory (from
`wait4`/`/proc`) is theirs alone and nothing is warm that a user would find cold.

`python -m eval.bench_commands INDEX [QUESTION]` prints where a cold `ask` spends its time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NEWSQA = [str(Path(sys.executable).parent / "newsqa")]  # the console script installed beside this Python


def run(args: list[str]) -> tuple[str, float]:
    """Run `newsqa ARGS`; (stdout, peak RSS in MB). Progress bars pass through on stderr.

    Raises:
        RuntimeError: the command failed.
    """
    process = subprocess.Popen([*NEWSQA, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    out = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"newsqa {args[0]} failed with exit code {process.returncode}")
    return out, usage.ru_maxrss / 1024


def ingest(path: Path, index_dir: Path) -> tuple[dict[str, Any], float]:
    """`newsqa ingest PATH --json`: (its report, peak RSS in MB)."""
    out, rss = run(["ingest", str(path), "--index", str(index_dir), "--json"])
    return json.loads(out), rss


def ask_all(index_dir: Path, questions: Path) -> list[dict[str, Any]]:
    """`newsqa ask --questions FILE` in one process: one answer dict per question, in order.

    Raises:
        RuntimeError: a question failed.
    """
    out, _ = run(["ask", "--questions", str(questions), "--index", str(index_dir)])
    answers = [json.loads(line) for line in out.splitlines() if line.strip()]
    failed = [a for a in answers if "error" in a]
    if failed:
        raise RuntimeError(f"ask failed: {failed[0]['error']}")
    return answers


def cold_start(index_dir: Path, question: str) -> float:
    """Wall seconds of a fresh `newsqa ask QUESTION --json`."""
    started = time.perf_counter()
    run(["ask", question, "--index", str(index_dir), "--json"])
    return round(time.perf_counter() - started, 2)


def cold_breakdown(index_dir: Path, question: str) -> dict[str, float]:
    """Seconds of each step of a cold `ask` in a fresh process, in the order `ask` meets them.

    Each step is the first to touch what it loads, so a library two steps share (numpy, pydantic)
    counts in the first; `python start` runs until the first step, `exit` from the answer to the end.

    Raises:
        RuntimeError: the child failed.
    """
    started = time.time()  # wall clock: the child's clock is compared with it
    child = subprocess.Popen([sys.executable, "-m", "eval.bench_commands", "--steps", str(index_dir), question],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline() if child.stdout else ""
    answered = time.time()
    _, err = child.communicate()
    ended = time.time()
    if child.returncode or not line:
        raise RuntimeError(f"cold-start breakdown failed: {err.strip().splitlines()[-1:]}")
    report = json.loads(line)
    steps: dict[str, float] = report["steps"]
    return {"python start": round(report["began"] - started, 3), **steps, "exit": round(ended - answered, 3),
            "total": round(ended - started, 3)}


def _steps(index_dir: Path, question: str) -> dict[str, float]:
    """The child of `cold_breakdown`: {step: seconds}, timed here."""
    import gc

    steps: dict[str, float] = {"began": time.time()}
    mark = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        steps[name], mark[0] = round(now - mark[0], 3), now

    import click  # noqa: F401  (what cli.py imports first)

    lap("import click")
    import chromadb  # noqa: F401
    lap("import chromadb")
    import llama_index.core  # noqa: F401
    lap("import llama-index core")
    import jieba.posseg  # its import reads the tag of every dictionary word
    lap("import jieba.posseg")
    from ingest.embed import load_embedder
    from ingest.index import Index
    from rag.engine import Engine
    lap("import the rest of ingest/rag")
    embedder = load_embedder(Index.open(index_dir).info().get("model"))
    lap("load the embedding model")
    engine = Engine(index_dir, embedder=embedder)
    lap("build the engine (SQLite, retrievers)")
    embedder.encode_query(question)
    lap("first query embedding")
    jieba.initialize()
    lap("jieba dictionary")
    _ = engine.index.vector_store
    lap("open Chroma")
    engine.index.bm25()
    lap("load BM25")
    engine.ask(question)
    lap("answer, all loaded")
    gc.freeze()  # as `newsqa ask` ends (cli_common.quick_exit freezes at exit): no collection of every object
    return steps


def server_rss(index_dir: Path, questions: list[str]) -> float:
    """Peak RSS (MB) of `newsqa serve` after it answered `questions` through its HTTP API."""
    import socket

    from gradio_client import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([*NEWSQA, "serve", "--index", str(index_dir), "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for(url, process)
        client = Client(url, verbose=False)
        for question in questions:
            client.predict(question, [], "", "", api_name="/ask")
        status = Path(f"/proc/{process.pid}/status").read_text()
        return round(int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024, 1)
    finally:
        process.terminate()
        process.wait(timeout=60)


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 300) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"newsqa serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"newsqa serve did not answer at {url} within {seconds:.0f}s")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--steps"]:
        timed = _steps(Path(sys.argv[2]), sys.argv[3])
        print(json.dumps({"began": timed.pop("began"), "steps": timed}, ensure_ascii=False), flush=True)
    else:  # python -m eval.bench_commands INDEX [QUESTION]
        asked = sys.argv[2] if len(sys.argv) > 2 else "王宏伟提出了哪几点要求"
        load = os.getloadavg()[0]
        for step, seconds in cold_breakdown(Path(sys.argv[1]), asked).items():
            print(f"{step:32} {seconds:6.3f}")
        print(f"{'newsqa ask, wall':32} {cold_start(Path(sys.argv[1]), asked):6.3f}")
        print(f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after (2 cores)")

"""The installed `newsqa` command as child processes, for `newsqa bench`.

Ingest, `ask`, the cold start and the chat server run as children so their peak memory (from
`wait4`/`/proc`) is theirs alone and nothing is warm that a user would find cold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NEWSQA = [sys.executable, "-m", "cli"]  # the same code as the `newsqa` script, wherever it is installed


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

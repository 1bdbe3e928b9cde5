"""Busy cores for `newsqa bench --load N`, and the load average seen while a timing runs.

A newsroom's server is rarely idle: an ingest, a backup, another service hold the cores. `busy_cores`
starts N processes that spin in pure Python (each bounded in time, in case this process dies
without cleaning up) and always kills them on the way out; `LoadWatch` samples the 1-minute load
average during a timed run, so every figure says what the cores were doing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

SPIN_SECONDS = 3600.0  # the longest a busy process lives if nobody kills it
_SPIN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@contextmanager
def busy_cores(processes: int, seconds: float = SPIN_SECONDS) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Run `processes` spinning Python processes for the block; they are killed and reaped when it ends,
    whatever happens inside."""
    spinners: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(processes):
            spinners.append(subprocess.Popen([sys.executable, "-c", _SPIN.format(seconds=float(seconds))],
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
        yield spinners
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


@dataclass
class LoadWatch:
    """The 1-minute load average, sampled every `every` seconds from `start` to `stop` (and at both ends)."""

    every: float = 2.0
    samples: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> LoadWatch:
        self.samples.append(os.getloadavg()[0])
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.samples.append(os.getloadavg()[0])

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def seen(self) -> dict[str, float]:
        """Mean and peak of the samples (the 1-minute average lags: it climbs over a minute of load)."""
        return {"mean": round(sum(self.samples) / len(self.samples), 2) if self.samples else 0.0,
                "peak": round(max(self.samples, default=0.0), 2)}

"""Chroma server mode against a real `chroma run` on a free loopback port, with an outage mid-run."""

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.embed import Embedder
from ingest.errors import StoreUnavailable
from ingest.index import Index
from ingest.pipeline import IngestConfig, ingest_paths
from rag.engine import Engine
from tests.conftest import SAMPLES, free_port

pytestmark = pytest.mark.server


class ChromaServer:
    """`chroma run` on loopback; start() waits until its heartbeat answers."""

    def __init__(self, path: Path, port: int) -> None:
        self.path, self.port, self.process = path, port, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        self.process = subprocess.Popen(
            [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("chroma run did not start within 60 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChromaServer]:
    chroma = ChromaServer(tmp_path / "chroma-server", free_port())
    chroma.start()
    yield chroma
    chroma.stop()


def test_ingest_and_ask_through_a_server_that_restarts(server: ChromaServer, tmp_path: Path, embedder: Embedder) -> None:
    index_dir = tmp_path / "index"
    report = ingest_paths([str(SAMPLES)], index_dir, IngestConfig(chroma_url=server.url), embedder=embedder)
    assert report.articles_added == 4
    assert not (index_dir / "chroma").exists()  # the vectors live in the server, not beside the index
    assert Index(index_dir, server.url).collection.count() == report.chunks_added

    engine = Engine(index_dir, embedder=embedder, chroma_url=server.url)
    assert "抓住关键环节" in engine.ask("王宏伟提出了哪几点要求").answer

    server.stop()
    with pytest.raises(StoreUnavailable, match="does not answer"):
        engine.ask("王宏伟提出了哪几点要求")
    with pytest.raises(StoreUnavailable):
        ingest_paths([str(SAMPLES)], index_dir, IngestConfig(chroma_url=server.url), embedder=embedder)

    server.start()
    assert "抓住关键环节" in engine.ask("王宏伟提出了哪几点要求").answer
    again = ingest_paths([str(SAMPLES)], index_dir, IngestConfig(chroma_url=server.url), embedder=embedder)
    assert again.chunks_added == 0 and again.articles_unchanged == 4

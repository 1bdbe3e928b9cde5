"""The index under storage faults and other processes (issue 17): a read-only copy answers, a
running reader sees another process's ingest, and a full disk stops an ingest with a clear error
while the stored articles keep answering. Mount tests need root (tmpfs) and skip without it."""

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.embed import Embedder
from ingest.index import Index

NEWSQA = [sys.executable, "-m", "cli"]
_BEES = "# 县里召开养蜂技术培训会\n\n本报讯 县农业局举办养蜂技术培训会，三百名蜂农参加。\n"


def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    yield from _tmpfs(tmp_path / "disk", "4m")


def _newsqa(*args: str) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[2]
    return subprocess.run([*NEWSQA, *args], capture_output=True, text=True, cwd=root, timeout=600)


def _dense_titles(index: Index, embedder: Embedder, question: str) -> list[str]:
    found = index.dense_query(embedder.encode_query(question).tolist(), 3)
    rows = index.chunk_rows([chunk_id for chunk_id, _ in found])
    return [rows[chunk_id]["title"] for chunk_id, _ in found]


def test_a_read_only_copy_can_be_queried(sample_index: Path, small_disk: Path) -> None:
    shutil.copytree(sample_index, small_disk / "index")
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = _newsqa("ask", "王宏伟提出了哪几点要求", "--index", str(small_disk / "index"), "--json")
    assert result.returncode == 0, result.stderr[-500:]
    assert "抓住关键环节" in result.stdout


def test_a_running_reader_sees_another_process_ingest(writable_index: Path, embedder: Embedder, tmp_path: Path) -> None:
    reader = Index.open(writable_index)
    assert "县里召开养蜂技术培训会" not in _dense_titles(reader, embedder, "养蜂技术培训会")
    (tmp_path / "bees.txt").write_text(_BEES, encoding="utf-8")
    result = _newsqa("ingest", str(tmp_path / "bees.txt"), "--index", str(writable_index))
    assert result.returncode == 0, result.stderr[-500:]
    assert _dense_titles(reader, embedder, "养蜂技术培训会")[0] == "县里召开养蜂技术培训会"


def test_disk_full_fails_the_ingest_clearly_and_the_archive_keeps_answering(sample_index: Path, small_disk: Path,
                                                                             tmp_path: Path) -> None:
    index_dir = small_disk / "index"
    shutil.copytree(sample_index, index_dir)
    (small_disk / "filler").write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - 40_000))
    (tmp_path / "bees.txt").write_text(_BEES * 1 + "会议强调要发展特色产业。" * 400, encoding="utf-8")
    result = _newsqa("ingest", str(tmp_path / "bees.txt"), "--index", str(index_dir))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "no space left" in result.stderr
    answer = _newsqa("ask", "王宏伟提出了哪几点要求", "--index", str(index_dir), "--json")
    assert answer.returncode == 0, answer.stderr[-500:]
    assert "抓住关键环节" in answer.stdout

"""kill -9 an ingest at random moments; re-running it must leave every article exactly once.

Half the kills land after a random number of committed batches (watched through the article
store), half at a random time, which also reaches the Chroma write and the BM25 swap.
"""

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.embed import Embedder
from ingest.index import Index
from ingest.pipeline import IngestConfig, ingest_paths

pytestmark = pytest.mark.slow
ARTICLES = 80
TRIALS = 10
_INGEST = (
    "import sys; from pathlib import Path; from ingest.pipeline import IngestConfig, ingest_paths; "
    "ingest_paths([sys.argv[1]], Path(sys.argv[2]), IngestConfig(batch_chunks=4))"
)


def _archive(path: Path) -> Path:
    lines = []
    for i in range(ARTICLES):
        body = f"第{i}号新闻：县里第{i}次召开专题会议，研究部署第{i}项重点工作。会议要求各单位抓好落实。"
        lines.append(json.dumps({"id": f"n{i}", "title": f"专题会议{i}", "date": "2023-05-01", "content": body},
                                ensure_ascii=False))
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _stored(directory: Path) -> int:
    try:
        with sqlite3.connect(f"file:{directory / 'articles.sqlite'}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("select count(*) from articles").fetchone()[0]
    except sqlite3.Error:
        return 0  # not created yet


def _kill_after(process: subprocess.Popen, directory: Path, articles: int | None, seconds: float) -> None:
    """SIGKILL once `articles` are committed (or after `seconds` when None), or when time runs out."""
    deadline = time.monotonic() + (seconds if articles is None else 120)
    while process.poll() is None and time.monotonic() < deadline:
        if articles is not None and _stored(directory) >= articles:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _check_consistent(directory: Path) -> None:
    index = Index.open(directory)
    articles = [s.article.meta["record_id"] for s in index.list_articles()]
    assert sorted(articles) == sorted(f"n{i}" for i in range(ARTICLES))
    chunk_ids = sorted(row[0] for row in index.db.execute("select id from chunks"))
    assert len(chunk_ids) == len(set(chunk_ids))
    assert sorted(index.collection.get(include=[])["ids"]) == chunk_ids
    assert sorted(index.bm25()[1]) == chunk_ids
    index.close()


def test_killed_ingests_recover_on_rerun(tmp_path: Path, embedder: Embedder) -> None:
    archive = _archive(tmp_path / "news.jsonl")
    rng = random.Random(20261125)
    root = Path(__file__).resolve().parents[2]
    partial = 0  # trials killed between two committed batches: the case this test is for
    for trial in range(TRIALS):
        directory = tmp_path / f"index{trial}"
        for _kill in range(1 + (trial % 3 == 0)):  # every third trial is killed twice in a row
            process = subprocess.Popen([sys.executable, "-c", _INGEST, str(archive), str(directory)], cwd=root)
            by_count = trial % 2 == 0
            _kill_after(process, directory, rng.randint(1, ARTICLES - 1) if by_count else None, rng.uniform(2.0, 10.0))
        partial += 0 < _stored(directory) < ARTICLES
        report = ingest_paths([str(archive)], directory, IngestConfig(batch_chunks=4), embedder=embedder)
        assert report.articles_added + report.articles_unchanged == ARTICLES, f"trial {trial}"
        _check_consistent(directory)
        again = ingest_paths([str(archive)], directory, embedder=embedder)
        assert again.chunks_added == 0
    assert partial >= TRIALS // 2, "too few kills landed mid-ingest"

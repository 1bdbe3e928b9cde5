"""Cancelling an ingest (issue 17): the pipeline's IngestWatch hook, then the page's 取消导入 button.

Either way the batches committed before the cancel stay, Chroma, the article store and BM25 hold the
same chunks, and the writer lock is free for the next ingest.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ingest.embed import Embedder
from ingest.index import Index
from ingest.pipeline import IngestCancelled, IngestConfig, IngestWatch, ingest_paths
from tests.conftest import SAMPLE_FILE
from tests.test_app import _browser_tab, _serving

NEWSQA = str(Path(sys.executable).with_name("newsqa"))


def _records(path: Path, count: int) -> Path:
    lines = [json.dumps({"id": f"r{i}", "title": f"第{i}次专题会议", "date": "2023-05-01",
                         "content": f"本报讯 县里第{i}次召开专题会议，研究部署第{i}项重点工作。会议要求各单位抓好落实。"},
                        ensure_ascii=False) for i in range(count)]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _consistent_chunks(directory: Path) -> int:
    """The number of chunks, after checking that the store, Chroma and BM25 hold exactly the same ones."""
    index = Index.open(directory)
    try:
        chunk_ids = sorted(row[0] for row in index.db.execute("select id from chunks"))
        assert sorted(index.collection.get(include=[])["ids"]) == chunk_ids
        assert sorted(index.bm25()[1]) == chunk_ids
        return len(chunk_ids)
    finally:
        index.close()


def test_cancel_keeps_committed_batches_and_frees_the_lock(tmp_path: Path, embedder: Embedder) -> None:
    archive = _records(tmp_path / "news.jsonl", 12)
    watch = IngestWatch()

    def cancel_after_first_batch(done: int, total: int, what: str) -> None:
        watch.cancel.set()  # as the page's button would, from another thread, between two batches

    with pytest.raises(IngestCancelled) as cancelled:
        ingest_paths([str(archive)], tmp_path / "index", IngestConfig(batch_chunks=2, watch=watch),
                     progress=cancel_after_first_batch, embedder=embedder)
    kept = cancelled.value.report
    assert 0 < kept.articles_added == watch.articles_done < 12 and watch.articles_total == 12
    assert kept.chunks_added == _consistent_chunks(tmp_path / "index") == kept.articles_added
    again = ingest_paths([str(archive)], tmp_path / "index", embedder=embedder)  # the lock was released
    assert (again.articles_added, again.articles_unchanged) == (12 - kept.articles_added, kept.articles_added)
    assert _consistent_chunks(tmp_path / "index") == 12


def test_cancel_before_writing_writes_nothing(tmp_path: Path, embedder: Embedder) -> None:
    watch = IngestWatch()
    watch.cancel.set()
    with pytest.raises(IngestCancelled) as cancelled:
        ingest_paths([str(_records(tmp_path / "news.jsonl", 3))], tmp_path / "index", IngestConfig(watch=watch),
                     embedder=embedder)
    assert cancelled.value.report.articles_added == 0 and not (tmp_path / "index").exists()


# ---- the page ----------------------------------------------------------------------------------------
def _big_issue(path: Path, copies: int = 25) -> Path:
    """The sample issue `copies` times, each article with its own title: a few hundred chunks to embed."""
    sample = SAMPLE_FILE.read_text(encoding="utf-8")
    parts = [re.sub(r"^#+ (.+)$", lambda m, i=i: f"# {m.group(1)}（第{i}组）", sample, flags=re.MULTILINE)
             for i in range(copies)]
    path.write_text("\n\n".join(parts), encoding="utf-8")
    return path


def _start_upload(page: Any, path: Path) -> None:
    page.get_by_role("tab", name="档案库").click()
    page.set_input_files("#upload input[type=file]", str(path))
    page.wait_for_function("n => document.querySelector('#upload').innerText.includes(n)", arg=path.stem)
    page.click("#ingest")


def _listed(index_dir: Path) -> list[dict[str, Any]]:
    """`newsqa list --json`: the article store's rows, with their chunk counts."""
    out = subprocess.run([NEWSQA, "list", "--json", "--index", str(index_dir)], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return list(json.loads(out))


@pytest.mark.browser
def test_cancel_in_the_page_keeps_what_was_written(sample_index: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(sample_index, index_dir)
    with _serving(index_dir) as url, _browser_tab(url) as page:
        _start_upload(page, _big_issue(tmp_path / "大文件.txt"))
        page.locator("#cancel-ingest").wait_for(state="visible")
        # some articles committed, most still to come (100 articles, 64 chunks a batch)
        page.wait_for_function("() => /已写入文章 [1-9]\\d*\\/100 篇/.test(document.querySelector('#ingest-result').innerText)")
        page.click("#cancel-ingest")
        page.get_by_text("已取消导入").wait_for()
        page.screenshot(path=str(tmp_path / "cancelled.png"), full_page=True)
        said = page.inner_text("#ingest-result")
        kept = int(re.search(r"保留了取消前已写入的 (\d+) 篇文章", said).group(1))
        assert 0 < kept < 100, said
        assert page.locator("#cancel-ingest").is_hidden()
        assert f"文章 {4 + kept} 篇" in page.inner_text("#counts")

        small = tmp_path / "短讯.txt"  # the lock is free: the next upload goes through at once
        small.write_text("# 青石镇古籍修复展开幕\n\n本报讯 11月20日,青石镇古籍修复展在镇文化站开幕。\n", encoding="utf-8")
        _start_upload(page, small)
        page.get_by_text("导入完成").wait_for()
        assert "新增文章 1 篇" in page.inner_text("#ingest-result")
    rows = _listed(index_dir)
    assert len(rows) == 4 + kept + 1
    assert sum(row["chunks"] for row in rows) == _consistent_chunks(index_dir)

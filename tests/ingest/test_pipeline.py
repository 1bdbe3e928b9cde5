"""Ingest end to end on the real Chroma and the bundled model, with small data."""

import json
from pathlib import Path

import pytest

from ingest.embed import Embedder
from ingest.errors import IndexBusy
from ingest.index import Index
from ingest.pipeline import IngestConfig, ingest_paths
from tests.conftest import SAMPLE_FILE


def _store_agrees(directory: Path) -> list[str]:
    index = Index.open(directory)
    ids = sorted(row[0] for row in index.db.execute("select id from chunks"))
    assert sorted(index.collection.get(include=[])["ids"]) == ids
    assert sorted(index.bm25()[1]) == ids
    return ids


def test_sample_ingest_lists_four_articles_and_repairs_breaks(sample_index: Path) -> None:
    index = Index.open(sample_index)
    stored = index.list_articles()
    assert len(stored) == 4
    first = next(s.article for s in stored if s.article.title == "全县脱贫工作成效考核推进会召开")
    assert "考核工作,马上行动起来" in first.text and "吃透方案" in first.text
    chunks = index.chunks_of(first.id)
    assert chunks and all(first.text[c.start : c.end] == c.text for c in chunks)
    _store_agrees(sample_index)


def test_reingest_adds_nothing(writable_index: Path, embedder: Embedder) -> None:
    before = _store_agrees(writable_index)
    report = ingest_paths([str(SAMPLE_FILE)], writable_index, embedder=embedder)
    assert (report.articles_added, report.articles_unchanged, report.chunks_added) == (0, 4, 0)
    assert _store_agrees(writable_index) == before


def test_a_changed_article_replaces_its_chunks(embedder: Embedder, tmp_path: Path) -> None:
    issue = tmp_path / SAMPLE_FILE.name  # the same file, corrected in place: the same source
    issue.write_text(SAMPLE_FILE.read_text(encoding="utf-8-sig"), encoding="utf-8")
    directory = tmp_path / "index"
    assert ingest_paths([str(issue)], directory, embedder=embedder).articles_added == 4
    issue.write_text(SAMPLE_FILE.read_text(encoding="utf-8-sig").replace("樊彦龙指出", "樊彦龙在会上指出"), encoding="utf-8")
    report = ingest_paths([str(issue)], directory, embedder=embedder)
    assert (report.articles_replaced, report.articles_unchanged, report.articles_added) == (1, 3, 0)
    ids = _store_agrees(directory)
    index = Index.open(directory)
    texts = [index.get_article(a).text for a in {i.rsplit(":", 1)[0] for i in ids}]
    assert sum("樊彦龙在会上指出" in t for t in texts) == 1 and not any("樊彦龙指出" in t for t in texts)


def test_bad_inputs_are_reported_and_the_rest_ingested(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "good_2021-03-04.txt").write_text("# 县里召开春耕会议\n\n本报讯 3月2日，县里召开春耕生产会议。", encoding="gbk")
    (tmp_path / "news.jsonl").write_text(
        json.dumps({"id": "n1", "title": "新闻一", "date": "2023-01-01", "content": "新闻一的正文。"}, ensure_ascii=False)
        + "\n{broken\n"
        + json.dumps({"id": "n1", "title": "重复", "content": "重复的编号。"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    directory = tmp_path / "index"
    report = ingest_paths([str(tmp_path)], directory, embedder=embedder)
    assert report.articles_added == 2
    failed = {Path(e["path"].split(":")[0]).name: e["error"] for e in report.errors}
    assert set(failed) == {"empty.txt", "binary.txt", "news.jsonl"}
    assert len(report.errors) == 4  # empty, binary, broken line, duplicate id
    titles = {s.article.title: s.article.date for s in Index.open(directory).list_articles()}
    assert titles == {"县里召开春耕会议": "2021-03-02", "新闻一": "2023-01-01"}
    _store_agrees(directory)


def test_bad_date_is_refused_before_anything_is_written(tmp_path: Path, embedder: Embedder) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        ingest_paths([str(SAMPLE_FILE)], tmp_path / "index", IngestConfig(date="15/11/2020"), embedder=embedder)
    assert not (tmp_path / "index").exists()


def test_a_second_writer_is_refused_with_a_clear_message(writable_index: Path, embedder: Embedder) -> None:
    with Index(writable_index).writing():
        with pytest.raises(IndexBusy, match="another ingest is writing"):
            ingest_paths([str(SAMPLE_FILE)], writable_index, embedder=embedder)


def test_chroma_ids_left_by_a_crash_are_removed(writable_index: Path, embedder: Embedder) -> None:
    from llama_index.core.schema import TextNode

    index = Index.open(writable_index)
    orphan = TextNode(id_="gone:0", text="孤儿", metadata={"article_id": "gone"}, embedding=[0.1] * embedder.dim)
    index.vector_store.add([orphan])
    report = ingest_paths([str(SAMPLE_FILE)], writable_index, embedder=embedder)
    assert report.chunks_added == 0
    assert "gone:0" not in _store_agrees(writable_index)


def test_a_metadata_change_is_stored_without_embedding_again(tmp_path: Path, embedder: Embedder) -> None:
    archive, directory = tmp_path / "county.jsonl", tmp_path / "index"
    record = {"id": "7", "title": "县人大开展执法检查", "date": "2023-05-04", "content": "县人大常委会对城乡规划法实施情况开展执法检查。"}
    archive.write_text(json.dumps(dict(record, desk="要闻"), ensure_ascii=False) + "\n", encoding="utf-8")
    assert ingest_paths([str(archive)], directory, embedder=embedder).chunks_added == 1
    archive.write_text(json.dumps(dict(record, desk="时政"), ensure_ascii=False) + "\n", encoding="utf-8")
    report = ingest_paths([str(archive)], directory, embedder=embedder)
    # same title, date and text: nothing to embed (an upgrade that notes more metadata costs no re-embedding)
    assert (report.chunks_added, report.articles_unchanged, report.articles_replaced) == (0, 1, 0)
    [stored] = Index.open(directory).list_articles()
    assert stored.article.meta["desk"] == "时政"
    assert ingest_paths([str(archive)], directory, embedder=embedder).articles_unchanged == 1

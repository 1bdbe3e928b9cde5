"""Bad inputs each get a clear per-file error (or are ingested correctly) while the batch goes on;
property tests: cleaning and splitting lose or duplicate no text."""

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.articles import split_document
from ingest.clean import clean_text, is_heading
from ingest.embed import Embedder
from ingest.index import Index
from ingest.pipeline import ingest_paths
from ingest.document import Document
from tests.conftest import SAMPLE_FILE


def test_a_batch_of_bad_inputs_reports_each_and_ingests_the_rest(tmp_path: Path, embedder: Embedder) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "empty.txt").write_bytes(b"")
    (inbox / "binary.txt").write_bytes(os.urandom(4096))
    (inbox / "huge.txt").write_bytes(("本报讯 县里召开会议。" * 10).encode() * 160_000)  # about 50 MB
    (inbox / "gb18030.txt").write_bytes("# 县里召开春耕会议\n\n本报讯 县里召开春耕生产会议，部署春耕。".encode("gb18030"))
    (inbox / "bom.md").write_bytes("\ufeff# 县里召开秋收会议\n\n本报讯 县里召开秋收工作会议。".encode())
    (inbox / "页面 第1期.txt").write_text("# 县里召开植树会议\n\n本报讯 县里召开植树造林会议。", encoding="utf-8")
    (inbox / "scripted.html").write_text(
        "<h1>县里召开安全会议</h1><script>window.__pwned=1</script><p>本报讯 县里召开安全生产会议。</p>", encoding="utf-8")
    os.mkfifo(inbox / "pipe.txt")  # reading it would block the batch forever
    (inbox / "loop.txt").symlink_to(inbox / "loop.txt")
    (inbox / "dangling.txt").symlink_to(inbox / "gone.txt")

    report = ingest_paths([str(inbox)], tmp_path / "index", embedder=embedder)
    failed = {Path(e["path"]).name: e["error"] for e in report.errors}
    assert set(failed) == {"empty.txt", "binary.txt", "huge.txt", "pipe.txt", "loop.txt", "dangling.txt"}
    assert "empty" in failed["empty.txt"] and "binary" in failed["binary.txt"]
    assert "too large" in failed["huge.txt"] and "not a regular file" in failed["pipe.txt"]
    titles = sorted(s.article.title for s in Index.open(tmp_path / "index").list_articles())
    assert titles == ["县里召开安全会议", "县里召开春耕会议", "县里召开植树会议", "县里召开秋收会议"]
    article = next(s.article for s in Index.open(tmp_path / "index").list_articles() if s.article.title == "县里召开安全会议")
    assert "__pwned" not in article.text


def _letters(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace() and ch not in "\ufeff\u200b")


_TEXT = st.text(alphabet="县里召开会议。，！？“”#\n 一二三、是要\ufeff", max_size=300)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_cleaning_loses_and_duplicates_nothing(text: str) -> None:
    assert _letters(clean_text(text)) == _letters(text)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_splitting_keeps_every_line_once(text: str) -> None:
    cleaned = clean_text(text)
    articles = split_document(Document(source="x.txt", text=text))
    body_lines = [line for line in cleaned.split("\n") if line and not is_heading(line)]
    text_lines = [line for a in articles for line in a.text.split("\n")]
    titles = {a.title for a in articles}
    remaining = iter(body_lines)
    assert all(line in remaining for line in text_lines)  # in order, never twice
    assert all(line in text_lines or line in titles for line in body_lines)  # a line is text or a headline


def test_sample_articles_hold_every_line_of_the_issue_once() -> None:
    text = clean_text(SAMPLE_FILE.read_text(encoding="utf-8-sig"))
    articles = split_document(Document(source=SAMPLE_FILE.name, text=text))
    body_lines = [line for line in text.split("\n") if not is_heading(line)]
    assert [line for a in articles for line in a.text.split("\n")] == body_lines

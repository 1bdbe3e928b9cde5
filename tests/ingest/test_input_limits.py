"""Inputs that once stalled, crashed or polluted an ingest (issue 17): each is read, or refused for
its own file or line, in bounded time, and no control character reaches an article."""

import json
import random
import time
from copy import deepcopy
from pathlib import Path

import pytest

from ingest.articles import split_document
from ingest.errors import IngestError
from ingest.read import MAX_TITLE_CHARS, expand_paths, read_file

_ISSUE = "# 县里召开春耕会议\n\n本报讯 县里召开春耕生产会议，部署春耕备耕工作。2023年3月1日\n"
_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\n\t\r\f"} | {"\x7f"} | {chr(c) for c in range(0x80, 0xA0)}


def _record(**fields: object) -> str:
    return json.dumps({"title": "县里召开会议", "content": "本报讯 县里召开春耕生产会议。", **fields}, ensure_ascii=False)


def test_a_jsonl_line_the_parser_cannot_read_is_one_error(tmp_path: Path) -> None:
    lines = [_record(id="a"), "[" * 100_000, '{"id": "b", "n": ' + "1" * 5000 + "}", _record(id="c")]
    path = tmp_path / "archive.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = read_file(path)
    assert [d.record_id for d in result.documents] == ["a", "c"]
    assert [e.path for e in result.errors] == [f"{path}:2", f"{path}:3"]
    assert all("JSON" in e.reason for e in result.errors)


def test_random_bytes_are_refused_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "noise.txt"
    path.write_bytes(random.Random(17).randbytes(5000))
    with pytest.raises(IngestError, match="binary"):
        read_file(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_or_without_bom_is_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "issue.txt"
    path.write_bytes(_ISSUE.encode(encoding))
    assert read_file(path).documents[0].text == _ISSUE


def test_no_control_character_or_terminal_escape_reaches_an_article(tmp_path: Path) -> None:
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31m红字\x1b[0m\x00\x9b1m\x1b]8;;http://evil.example\x1b\\链接\x1b]8;;\x1b\\"
    filler = "本报讯 县里召开会议，部署工作。\n" * 200  # past the first KB the binary check samples
    (tmp_path / "issue.txt").write_text(_ISSUE + filler + hostile + "结束。\n", encoding="utf-8")
    (tmp_path / "page.html").write_text(f"<h1>县里召开会议</h1><p>{filler}&#27;[2J&#0;正文</p>", encoding="utf-8")
    (tmp_path / "archive.jsonl").write_text(_record(title="标题\x1b[5m", content=filler + hostile), encoding="utf-8")
    for name in ("issue.txt", "page.html", "archive.jsonl"):
        for document in read_file(tmp_path / name).documents:
            for article in split_document(document, None):
                assert not set(article.text + article.title) & _CONTROL, name
    assert "红字" in read_file(tmp_path / "issue.txt").documents[0].text


def _tiny_paragraphs_docx(path: Path, count: int) -> None:
    import docx

    document = docx.Document()
    document.add_heading("县里召开会议", level=1)
    paragraph = document.add_paragraph("县")._p
    for _ in range(count):
        document.element.body.append(deepcopy(paragraph))
    document.save(str(path))


def test_docx_of_many_tiny_paragraphs_reads_in_bounded_time(tmp_path: Path) -> None:
    path = tmp_path / "tiny.docx"
    _tiny_paragraphs_docx(path, 30_000)
    started = time.perf_counter()
    text = read_file(path).documents[0].text
    seconds = time.perf_counter() - started
    assert text.startswith("# 县里召开会议") and text.count("县") == 30_002
    assert seconds < 10, f"{seconds:.1f}s for 30,000 paragraphs (was about 1 ms per paragraph)"


def test_a_long_title_is_cut_and_kept_whole_in_meta(tmp_path: Path) -> None:
    title = "标" * 1_000_000
    (tmp_path / "archive.jsonl").write_text(_record(id="1", title=title), encoding="utf-8")
    document = read_file(tmp_path / "archive.jsonl").documents[0]
    article = split_document(document, None)[0]
    assert len(article.title) <= MAX_TITLE_CHARS and article.title.startswith("标标")
    assert article.meta["full_title"] == title


def test_a_too_long_article_is_one_error(tmp_path: Path) -> None:
    lines = [_record(id="1", content="县" * 1_000_001), _record(id="2")]
    (tmp_path / "archive.jsonl").write_text("\n".join(lines), encoding="utf-8")
    result = read_file(tmp_path / "archive.jsonl")
    assert [d.record_id for d in result.documents] == ["2"]
    assert "too long" in result.errors[0].reason and result.errors[0].path.endswith(":1")


def test_an_existing_file_name_with_brackets_is_taken_literally(tmp_path: Path) -> None:
    literal = tmp_path / "第[1]期.txt"
    literal.write_text(_ISSUE, encoding="utf-8")
    (tmp_path / "第1期.txt").write_text(_ISSUE, encoding="utf-8")
    assert list(expand_paths([str(literal)])) == [literal]
    assert list(expand_paths([str(tmp_path / "第[0-9]期.txt")])) == [tmp_path / "第1期.txt"]  # still a pattern

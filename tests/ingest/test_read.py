from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.read import decode_bytes, expand_paths, read_file

TEXT = "# 县里召开会议\n\n本报讯 3月2日，县里召开全县经济工作会议，部署今年的重点任务。"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_encodings_are_detected_not_guessed(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "issue.txt"
    path.write_bytes(TEXT.encode(encoding))
    (document,) = read_file(path).documents
    assert document.text == TEXT


def test_empty_binary_and_undecodable_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="empty"):
        decode_bytes(b"  \n", "a.txt")
    with pytest.raises(IngestError, match="binary"):
        decode_bytes(bytes(range(256)) * 4, "b.txt")
    with pytest.raises(IngestError, match="binary"):
        decode_bytes(b"\x01\x02\x03\x04\x05\x06\x07\x08" * 100, "c.txt")


def test_unsupported_type_lists_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"data")
    with pytest.raises(IngestError, match=r"unsupported file type '\.xlsx'.*\.jsonl"):
        read_file(path)


def test_jsonl_keeps_good_lines_and_reports_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text(
        '{"id": "a1", "title": "标题一", "date": "2023-01-02", "content": "正文一。", "url": "http://x"}\n'
        "{not json\n"
        '{"id": "a2", "title": "缺正文"}\n'
        '{"id": "a3", "text": "只有正文。"}\n'
        '["a list"]\n'
        '{"id": "a4", "title": ["wrong type"], "content": "正文。"}\n',
        encoding="utf-8",
    )
    result = read_file(path)
    assert [d.record_id for d in result.documents] == ["a1", "a3"]
    assert result.documents[0].meta == {"url": "http://x"}
    assert [e.path for e in result.errors] == [f"{path}:2", f"{path}:3", f"{path}:5", f"{path}:6"]
    assert "malformed JSON" in result.errors[0].reason


def test_html_drops_scripts_and_keeps_headings(tmp_path: Path) -> None:
    path = tmp_path / "issue.html"
    path.write_text("<html><body><h1>标题</h1><script>alert(1)</script><p>本报讯 正文。</p></body></html>", encoding="utf-8")
    (document,) = read_file(path).documents
    assert document.text == "# 标题\n\n本报讯 正文。"


def test_docx_headings_start_articles(tmp_path: Path) -> None:
    import docx

    doc = docx.Document()
    doc.add_heading("县里召开会议", level=1)
    doc.add_paragraph("本报讯 县里召开会议。")
    path = tmp_path / "issue.docx"
    doc.save(str(path))
    (document,) = read_file(path).documents
    assert document.text == "# 县里召开会议\n\n本报讯 县里召开会议。"


def test_pdf_without_text_layer_says_so(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    path = tmp_path / "scan.pdf"
    with open(path, "wb") as handle:
        writer.write(handle)
    with pytest.raises(IngestError, match="no text layer"):
        read_file(path)


def test_paths_globs_and_directories(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("x", encoding="utf-8")
    (tmp_path / "a" / "two.md").write_text("x", encoding="utf-8")
    (tmp_path / "a" / "skip.png").write_bytes(b"x")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    found = list(expand_paths([str(tmp_path / "a"), str(tmp_path / "a" / "*.txt"), str(tmp_path / "missing.txt")]))
    names = [p.name for p in found if isinstance(p, Path)]
    assert names == ["one.txt", "two.md"]
    errors = [e for e in found if isinstance(e, IngestError)]
    assert len(errors) == 1 and "no such file" in errors[0].reason

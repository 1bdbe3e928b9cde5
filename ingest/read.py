"""Read input files into decoded documents: one reader per format, strict decoding.

A `Document` is what a file (or one JSONL line) holds before cleaning: text plus whatever the
record says about itself. Issue files may hold several articles; splitting happens later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from ingest.document import Document, ReadResult
from ingest.errors import IngestError
from ingest.plausible import implausible

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf", ".jsonl")
MAX_ISSUE_BYTES = 20 * 1024 * 1024  # one issue file; archives go through JSONL, which has no such limit
_JSONL_TEXT_KEYS = ("content", "text")
_JSONL_KNOWN_KEYS = ("id", "title", "date", "content", "text")
MAX_TITLE_CHARS = 200  # the title is embedded with every chunk: a longer one is cut (the whole one kept in meta)
MAX_ARTICLE_CHARS = 1_000_000  # one JSONL record; a longer "article" is a whole archive pasted into one line
MAX_DOCX_XML_BYTES = 10 * MAX_ISSUE_BYTES  # unpacked: a small zip can hold gigabytes (a zip bomb)
# terminal escapes (ANSI CSI, OSC titles and links, other ESC sequences), then lone control characters:
# they would reach the index and, printed by `newsqa show`, drive the terminal
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# characters of Chinese or English text: what a UTF-16 file without a byte-order mark decodes to
_TEXT_CHARS = re.compile(r"[\t\n\r\x20-\x7e\u00a0-\u024f\u2000-\u206f\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def strip_controls(text: str) -> str:
    """`text` without terminal escape sequences and control characters (tab, newlines and form feed stay)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def _utf16(data: bytes) -> str | None:
    """The text of UTF-16 data (byte-order mark, or none and text-like either way round); None otherwise."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if len(data) % 2:
        return None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:4096]
        if len(_TEXT_CHARS.findall(sample)) >= 0.95 * len(sample):  # random bytes give about 10%
            return text
    return None


def decode_bytes(data: bytes, path: str) -> str:
    """Decode strictly: UTF-16 (by its byte-order mark, or its look), UTF-8 (BOM or not), then
    GB18030, then a detector; never drop bytes; control characters and terminal escapes are removed.

    Raises:
        IngestError: empty, binary, or undecodable input.
    """
    if not data.strip():
        raise IngestError(path, "the file is empty", "文件是空的")
    utf16 = _utf16(data) if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:8192] else None
    if utf16 is not None:
        return _reject_control_chars(utf16, path)
    if b"\x00" in data[:8192]:
        raise IngestError(path, "the file is binary, not text", "这是二进制文件，不是文本")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return _reject_control_chars(data.decode(encoding), path)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise IngestError(path, "cannot decode the text (not UTF-8, GBK or GB18030)", "无法识别文件编码")
    return _reject_control_chars(str(best), path)


def _reject_control_chars(text: str, path: str) -> str:
    # GB18030 decodes almost any byte string, so binary data must be caught by its content;
    # escapes and stray controls further in are removed, never indexed
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f\x1b")
    if controls > max(2, len(sample) // 100):
        raise IngestError(path, "the file is binary, not text", "这是二进制文件，不是文本")
    return strip_controls(text)


def _read_plain(path: Path) -> ReadResult:
    return _checked(path, decode_bytes(path.read_bytes(), str(path)))


def _read_html(path: Path) -> ReadResult:
    from bs4 import BeautifulSoup

    html = decode_bytes(path.read_bytes(), str(path))
    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "noscript", "template", "iframe"]):
        tag.decompose()
    from ingest import html_pages

    if html_pages.looks_like_epaper(html, soup, path):  # 数字报: one article, its title parts and date from the page
        return ReadResult([html_pages.read_page(path, html, soup)], [])
    lines: list[str] = []
    for element in soup.find_all(["h1", "h2", "h3", "p", "li", "pre", "td"]):
        if element.find(["p", "li", "h1", "h2", "h3"]):
            continue  # a container: its children are visited on their own
        text = element.get_text(" ", strip=True)
        if text:
            prefix = "# " if element.name in ("h1", "h2") else ""
            lines.append(prefix + text)
    if not lines:
        lines = [soup.get_text("\n", strip=True)]
    return _checked(path, "\n\n".join(lines))


def _read_docx(path: Path) -> ReadResult:
    import docx
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    _check_unpacked_size(path)
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several unrelated types for broken files
        raise IngestError(path.as_posix(), f"not a readable DOCX file ({exc})", "不是有效的 DOCX 文件") from exc
    # `paragraph.style` searches the styles part on every call (1 ms each: 150 s for 150,000 tiny
    # paragraphs); the names are looked up once and each paragraph's style id read from its XML
    names = {style.style_id: style.name or "" for style in document.styles}
    lines = []
    for element in document.element.body.iterchildren(qn("w:p")):
        text = Paragraph(element, document).text.strip()
        if text:
            style = names.get(element.style or "", "")
            prefix = "# " if style.startswith(("Heading 1", "Heading 2", "Title")) else ""
            lines.append(prefix + text)
    return _checked(path, "\n\n".join(lines))


def _check_unpacked_size(path: Path) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(path.as_posix(), f"not a readable DOCX file ({exc})", "不是有效的 DOCX 文件") from exc
    if unpacked > MAX_DOCX_XML_BYTES:
        raise IngestError(path.as_posix(), f"the DOCX unpacks to {unpacked / 2**20:.0f} MB (the limit is "
                          f"{MAX_DOCX_XML_BYTES // 2**20} MB)", f"DOCX 解压后过大（{unpacked / 2**20:.0f} MB）")


def _read_pdf(path: Path) -> ReadResult:
    # text with positions and type sizes: columns, headlines, continued articles (ingest.pdf_layout)
    from ingest.pdf_layout import read_pdf

    return ReadResult([read_pdf(path)], [])


def _checked(path: Path, text: str) -> ReadResult:
    if not strip_controls(text).strip():
        raise IngestError(str(path), "the file holds no text", "文件中没有文字")
    if (reason := implausible(text)) is not None:
        raise IngestError(str(path), f"the text does not read as language: {reason}", "文件内容不像正常文字（可能是乱码或随机字节）")
    return ReadResult([Document(source=path.name, text=text)], [])


def _read_jsonl(path: Path) -> ReadResult:
    text = decode_bytes(path.read_bytes(), str(path))
    documents: list[Document] = []
    errors: list[IngestError] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{line_no}"
        try:
            documents.append(_record_to_document(json.loads(line), path.name, where))
        except json.JSONDecodeError as exc:
            errors.append(IngestError(where, f"malformed JSON ({exc.msg})", "JSON 格式错误"))
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, 100,000 nested brackets
            errors.append(IngestError(where, f"the JSON parser cannot read this line ({str(exc)[:80]})", "JSON 无法解析（嵌套过深或数字过长）"))
        except IngestError as exc:
            errors.append(exc)
    if not documents and not errors:
        raise IngestError(str(path), "the file is empty", "文件是空的")
    return ReadResult(documents, errors)


def _record_to_document(record: object, source: str, where: str) -> Document:
    if not isinstance(record, dict):
        raise IngestError(where, "a JSONL line must be an object", "每行必须是一个 JSON 对象")
    body = next((record[k] for k in _JSONL_TEXT_KEYS if k in record), None)
    if not isinstance(body, str) or not body.strip():
        raise IngestError(where, "the record has no text in 'content' or 'text'", "记录缺少正文（content 或 text）")
    for key in ("id", "title", "date"):
        value = record.get(key)
        if value is not None and not isinstance(value, (str, int)):
            raise IngestError(where, f"'{key}' must be a string", f"字段 {key} 必须是字符串")
    if len(body) > MAX_ARTICLE_CHARS:
        raise IngestError(where, f"the article is too long ({len(body):,} characters; the limit is {MAX_ARTICLE_CHARS:,}): "
                          "split it into articles", f"文章过长（{len(body)} 字，上限 {MAX_ARTICLE_CHARS} 字）：请拆分")
    meta = {k: v for k, v in record.items() if k not in _JSONL_KNOWN_KEYS}
    title = strip_controls(str(record["title"])).strip() if record.get("title") else None
    if title and len(title) > MAX_TITLE_CHARS:
        meta["full_title"] = title
        title = title[: MAX_TITLE_CHARS - 1] + "…"
    return Document(
        source=source,
        text=strip_controls(body),
        record_id=str(record["id"]) if record.get("id") not in (None, "") else None,
        title=title or None,
        date=strip_controls(str(record["date"])) if record.get("date") else None,
        meta=meta,
        is_record=True,
    )


def _resolved_path(path: Path) -> str:
    return str(path.resolve())


def _file_name(path: Path) -> str:
    return path.name


# How a file is told apart from every other file, for article ids and for corrections (a file
# read again replaces its own articles, and only those). "path": the resolved absolute path, so
# issue_2020-11-17/01.txt and issue_2020-11-24/01.txt are two sources whatever directory an ingest
# starts from; moving the archive makes its files new sources (remove the old ones). "name": the
# file name alone, for copies in throw-away folders whose name is all that is known of them (page
# uploads sit in a folder named by their content hash, so a corrected upload must match by name).
_SOURCE_KEYS: dict[str, Callable[[Path], str]] = {"path": _resolved_path, "name": _file_name}


def key_function(scheme: str) -> Callable[[Path], str]:
    """What makes a file's source key under `scheme` ("path" or "name"); call it on a file that was read.

    Raises:
        ValueError: an unknown scheme.
    """
    if scheme not in _SOURCE_KEYS:
        raise ValueError(f"unknown source key scheme {scheme!r}; choose one of {', '.join(sorted(_SOURCE_KEYS))}")
    return _SOURCE_KEYS[scheme]


_READERS: dict[str, Callable[[Path], ReadResult]] = {
    ".txt": _read_plain,
    ".md": _read_plain,
    ".markdown": _read_plain,
    ".html": _read_html,
    ".htm": _read_html,
    ".docx": _read_docx,
    ".pdf": _read_pdf,
    ".jsonl": _read_jsonl,
}


def read_file(path: Path) -> ReadResult:
    """Read one file with the reader for its suffix.

    Raises:
        IngestError: the file is unreadable, of an unsupported type, empty, binary or undecodable.
    """
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError(
            str(path),
            f"unsupported file type '{path.suffix}' (supported: {', '.join(sorted(_READERS))})",
            f"不支持的文件类型 {path.suffix}",
        )
    try:
        if not path.is_file():  # a FIFO or device would block the whole batch on read
            raise IngestError(str(path), "not a regular file", "不是普通文件")
        size = path.stat().st_size
        if reader is not _read_jsonl and size > MAX_ISSUE_BYTES:
            raise IngestError(
                str(path),
                f"the file is too large for one issue ({size / 2**20:.1f} MB; the limit is {MAX_ISSUE_BYTES // 2**20} MB): "
                "split it into issues, or convert it to JSONL with one article per line",
                f"文件过大（{size / 2**20:.1f} MB，单期上限 {MAX_ISSUE_BYTES // 2**20} MB）：请拆分，或转成每行一篇文章的 JSONL",
            )
        return _sanitised(reader(path))
    except OSError as exc:
        raise IngestError(str(path), f"cannot read the file ({exc.strerror})", "无法读取文件") from exc


def _sanitised(result: ReadResult) -> ReadResult:
    """Every text of `result` without control characters: HTML entities (&#27;), DOCX and PDF text
    bring them past `decode_bytes`."""
    def clean(document: Document) -> Document:
        sections = tuple(replace(s, title=strip_controls(s.title) if s.title else s.title,
                                 lines=tuple(strip_controls(line) for line in s.lines)) for s in document.sections)
        title = strip_controls(document.title) if document.title else document.title
        return replace(document, text=strip_controls(document.text), title=title, sections=sections)

    return ReadResult([clean(d) for d in result.documents], result.errors)


def expand_paths(inputs: list[str]) -> Iterator[Path | IngestError]:
    """Files named by paths, directories (recursive, supported types only) and globs, in order."""
    import glob

    seen: set[Path] = set()
    for item in inputs:
        # an existing file called 「第[1]期.txt」 is that file, not a pattern
        literal = Path(item).exists() or Path(item).is_symlink() or not glob.has_magic(item)
        matches = [item] if literal else sorted(glob.glob(item, recursive=True))
        if not matches:
            yield IngestError(item, "no file matches this pattern", "没有匹配的文件")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                files = sorted(p for p in _walk(path) if p.suffix.lower() in SUPPORTED_SUFFIXES)
            elif path.exists() or path.is_symlink():
                files = [path]
            else:
                yield IngestError(item, "no such file or directory", "文件或目录不存在")
                continue
            for file in files:
                key = file.resolve() if file.exists() else file
                if key not in seen:
                    seen.add(key)
                    yield file


def _walk(directory: Path) -> Iterator[Path]:
    # os.walk without followlinks cannot loop on symlinked directories
    import os

    for root, _dirs, names in os.walk(directory):
        for name in names:
            yield Path(root) / name

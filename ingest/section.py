"""Section: one article as a page layout tells it apart (a PDF page's headline block, a 数字报 page),
before the in-article pass; shared by the readers that find articles themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    """An article's headline (主题), its paragraphs in reading order, and what the layout said
    about it (`meta`: 引题/副题 as "kicker"/"subtitle", "page", "byline", "captions", …)."""

    title: str | None
    lines: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

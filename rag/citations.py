"""Citation and Answer records, and the check that every [n] points at a real, supporting span."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Citation:
    """Source of one claim: `text` is the passage (a paragraph of the article) and
    `text[span[0]:span[1]]` the part that supports the claim; `offset` is where the passage
    starts in the article text."""

    n: int
    article_id: str
    title: str
    date: str | None
    source: str
    text: str
    span: tuple[int, int]
    offset: int = 0

    @property
    def quote(self) -> str:
        return self.text[self.span[0] : self.span[1]]


@dataclass(frozen=True)
class Retrieved:
    """One fused top-k chunk, as `ask --json` lists it."""

    article_id: str
    chunk_id: str
    title: str
    score: float


@dataclass(frozen=True)
class Answer:
    """A Chinese answer whose claims end in [n]; citations are numbered from 1."""

    question: str
    answer: str
    no_answer: bool
    citations: list[Citation]
    retrieved: list[Retrieved]
    mode: str = "extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    condensed_question: str | None = None
    notice: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for citation in data["citations"]:
            citation["span"] = list(citation["span"])
        if data["notice"] is None:
            data.pop("notice")
        return data


def invalid_markers(answer: str, citations: list[Citation]) -> list[int]:
    """Numbers of [n] markers with no citation, or whose citation's span is not inside its text."""
    by_number = {c.n: c for c in citations}
    bad = []
    for number in (int(m) for m in MARKER.findall(answer)):
        citation = by_number.get(number)
        if citation is None or not (0 <= citation.span[0] < citation.span[1] <= len(citation.text)):
            bad.append(number)
    return bad

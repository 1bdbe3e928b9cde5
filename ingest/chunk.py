"""Sentence-aware Chinese chunks with character offsets into the article text.

Invariant (tested on real text): `article.text[c.start:c.end] == c.text` for every chunk, chunks
never cross an article, start at a sentence start, and together cover every non-blank character.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# a sentence ends at 。！？；… (or their ASCII forms) plus any closing quotes or brackets after them
_SENTENCE = re.compile(r"[^。！？!?；;…]*(?:[。！？!?；;…]+[”’」』）)】》\"']*|$)")
_SOFT_BREAK = re.compile(r"[，,、：:]")
DEFAULT_MAX_CHARS = 300


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article."""

    article_id: str
    n: int  # position in the article, from 0
    text: str
    start: int  # offsets into Article.text
    end: int
    paragraph: int  # index of the paragraph (line) of Article.text the chunk starts in

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.n}"


def sentence_spans(text: str, offset: int = 0) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence of `text`, shifted by `offset`; white space is left out."""
    for match in _SENTENCE.finditer(text):
        start, end = match.start(), match.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            yield offset + start, offset + end


def _split_long(start: int, end: int, text: str, max_chars: int) -> Iterator[tuple[int, int]]:
    # one sentence longer than a chunk: cut at the last comma before the limit, else hard
    while end - start > max_chars:
        window = text[start : start + max_chars]
        commas = [m.end() for m in _SOFT_BREAK.finditer(window)]
        cut = start + (commas[-1] if commas and commas[-1] > max_chars // 3 else max_chars)
        yield start, cut
        start = cut
    yield start, end


def paragraph_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each paragraph (line) of an article's text."""
    position = 0
    for line in text.split("\n"):
        yield position, position + len(line)
        position += len(line) + 1


def chunk_article(article_id: str, text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `max_chars`; short paragraphs share a chunk.

    A chunk may span paragraphs of its article (news paragraphs are often one sentence long) but
    never starts mid-sentence; `paragraph` is the paragraph it starts in.
    """
    pieces = [
        (piece, paragraph)
        for paragraph, (p_start, p_end) in enumerate(paragraph_spans(text))
        for s_start, s_end in sentence_spans(text[p_start:p_end], p_start)
        for piece in _split_long(s_start, s_end, text, max_chars)
    ]
    chunks: list[Chunk] = []
    current: tuple[int, int, int] | None = None  # start, end, first paragraph
    for (start, end), paragraph in pieces:
        if current and end - current[0] <= max_chars:
            current = (current[0], end, current[2])
            continue
        if current:
            chunks.append(Chunk(article_id, len(chunks), text[current[0] : current[1]], *current))
        current = (start, end, paragraph)
    if current:
        chunks.append(Chunk(article_id, len(chunks), text[current[0] : current[1]], *current))
    return chunks

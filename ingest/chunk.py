"""Sentence-aware Chinese chunks with character offsets into the article text.

Invariant (tested on real text): `article.text[c.start:c.end] == c.text` for every chunk, chunks
never cross an article, start at a sentence start, and together cover every non-blank character.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_ENDS = set("。！？!?；;…")
_CLOSERS = set("”’」』）)】》\"'")
_OPEN_QUOTES, _CLOSE_QUOTES = "“「『", "”」』"
_MAX_QUOTE = 200  # an unclosed quote stops protecting its sentence after this many characters
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
    """(start, end) of each sentence of `text`, shifted by `offset`; white space is left out.

    A sentence ends at 。！？；… plus any closing quotes after them, but not inside a quotation:
    「“你家有几口人?家里有什么产业?”每到一户…」 keeps the quoted questions in one sentence.
    """
    start, depth, opened_at, i = 0, 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in _OPEN_QUOTES:
            depth, opened_at = depth + 1, i
        elif ch in _CLOSE_QUOTES and depth:
            depth -= 1
        if depth and i - opened_at > _MAX_QUOTE:
            depth = 0
        ends_here = ch in _ENDS and not depth
        closes_quoted_sentence = ch in _CLOSE_QUOTES and not depth and i > 0 and text[i - 1] in _ENDS
        if ends_here or closes_quoted_sentence:
            i += 1
            while i < len(text) and (text[i] in _ENDS or text[i] in _CLOSERS):
                i += 1
            yield from _trimmed(text, start, i, offset)
            start = i
            continue
        i += 1
    yield from _trimmed(text, start, len(text), offset)


def _trimmed(text: str, start: int, end: int, offset: int) -> Iterator[tuple[int, int]]:
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

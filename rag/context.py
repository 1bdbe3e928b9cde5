"""Widen hits to their articles: sentences and paragraphs around a hit, with article offsets.

An enumeration often spans several chunks and paragraphs, and the answer for a who/when question
may sit one sentence before the chunk that matched; the answerer therefore works on whole
articles of the top hits, ranked by their best hit.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.articles import Article
from ingest.chunk import paragraph_spans, sentence_spans
from ingest.index import Index
from rag.retrieve import Hit


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: [start, end) in the article text, and its paragraph."""

    start: int
    end: int
    paragraph: int


@dataclass(frozen=True)
class ArticleContext:
    """An article that the retriever hit, with its rank and the chunks that matched."""

    article: Article
    rank: int  # 0 = the article of the best hit
    hits: tuple[Hit, ...]

    def sentences(self) -> list[Sentence]:
        text = self.article.text
        return [
            Sentence(start, end, paragraph)
            for paragraph, (p_start, p_end) in enumerate(paragraph_spans(text))
            for start, end in sentence_spans(text[p_start:p_end], p_start)
        ]

    def paragraph_of(self, position: int) -> tuple[int, int]:
        """(start, end) of the paragraph that holds `position`."""
        for start, end in paragraph_spans(self.article.text):
            if start <= position <= end:
                return start, end
        return 0, len(self.article.text)

    def near_hit(self, start: int, end: int, window: int = 0) -> bool:
        """Whether [start, end) overlaps a matched chunk, widened by `window` characters."""
        return any(h.start - window < end and start < h.end + window for h in self.hits)


def article_contexts(index: Index, hits: list[Hit], max_articles: int = 3) -> list[ArticleContext]:
    """The articles of the top hits, best first, each with all of its hits."""
    order: list[str] = []
    grouped: dict[str, list[Hit]] = {}
    for hit in hits:
        if hit.article_id not in grouped:
            order.append(hit.article_id)
            grouped[hit.article_id] = []
        grouped[hit.article_id].append(hit)
    contexts = []
    for rank, article_id in enumerate(order[:max_articles]):
        article = index.get_article(article_id)
        if article is not None:
            contexts.append(ArticleContext(article, rank, tuple(grouped[article_id])))
    return contexts

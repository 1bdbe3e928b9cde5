"""Widen hits to their articles: sentences and paragraphs around a hit, with article offsets.

`ArticleWidener` is the llama-index node postprocessor that does it: fused chunk nodes in, one
`ArticleNode` per article out (best first), each carrying its `ArticleContext` for the answerer.

An enumeration often spans several chunks and paragraphs, and the answer for a who/when question
may sit one sentence before the chunk that matched; the answerer therefore works on whole
articles of the top hits, ranked by their best hit.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from llama_index.core.bridge.pydantic import Field
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ingest.articles import Article
from ingest.chunk import paragraph_spans, sentence_spans
from ingest.index import Index
from rag.retrieve import Hit


_REPLY = re.compile(r"[ \t\u3000]*(?:答|A)[：:]")  # an interview turn of the one interviewed
_ASK = re.compile(r"[ \t\u3000]*(?:记者|问|Q)[：:]")  # the interviewer's turn


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

    @cached_property
    def _paragraphs(self) -> list[tuple[int, int]]:
        # read for every candidate sentence (its paragraph, a reply's question, an interviewer's turn)
        return list(paragraph_spans(self.article.text))

    def sentences(self) -> list[Sentence]:
        return self._sentences

    @cached_property
    def _sentences(self) -> list[Sentence]:  # read by the scorer's features and its candidates
        text = self.article.text
        return [
            Sentence(start, end, paragraph)
            for paragraph, (p_start, p_end) in enumerate(self._paragraphs)
            for start, end in sentence_spans(text[p_start:p_end], p_start)
        ]

    def paragraph_of(self, position: int) -> tuple[int, int]:
        """(start, end) of the paragraph that holds `position`."""
        at = bisect_right(self._paragraphs, (position, len(self.article.text) + 1)) - 1
        if at >= 0 and position <= self._paragraphs[at][1]:
            return self._paragraphs[at]
        return 0, len(self.article.text)

    def reply_start(self, position: int) -> int:
        """Where the text that `position` belongs to starts: its paragraph, or for an interview's reply
        (「答：…」) the question before it, which names what the reply is about."""
        start, _ = self.paragraph_of(position)
        before = len(self.article.text[:start].rstrip())  # past the line break (and blank lines) before it
        if not _REPLY.match(self.article.text, start) or before == 0:
            return start
        return self.paragraph_of(before - 1)[0]

    def is_interviewer_turn(self, position: int) -> bool:
        """Whether `position` lies in an interviewer's turn (「记者：…」, 「问：…」)."""
        return bool(_ASK.match(self.article.text, self.paragraph_of(position)[0]))

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


class ArticleNode(TextNode):
    """A whole article as a llama-index node; `context` holds its hits for the answerer."""

    context: Any = Field(default=None, exclude=True)


class ArticleWidener(BaseNodePostprocessor):
    """Chunk nodes -> the articles of the best `max_articles` of them, each with all of its hits."""

    index: Any = Field(exclude=True)
    max_articles: int = 5

    @classmethod
    def class_name(cls) -> str:
        return "ArticleWidener"

    def _postprocess_nodes(self, nodes: list[NodeWithScore],
                           query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        sides = getattr(query_bundle, "side_scores", None)
        contexts = article_contexts(self.index, [Hit.of(found, sides) for found in nodes], self.max_articles)
        return [NodeWithScore(node=_article_node(ctx), score=ctx.hits[0].score) for ctx in contexts]


def _article_node(ctx: ArticleContext) -> ArticleNode:
    article = ctx.article
    return ArticleNode(id_=article.id, text=article.text, context=ctx, metadata={
        "article_id": article.id, "title": article.title, "date": article.date or "", "source": article.source})


def contexts_of(nodes: list[NodeWithScore]) -> list[ArticleContext]:
    """The `ArticleContext`s that `ArticleWidener` attached, in its order."""
    return [found.node.context for found in nodes if isinstance(found.node, ArticleNode)]

"""Hybrid retrieval: dense (Chroma via llama-index) and Chinese BM25, fused by reciprocal rank.

Both retrievers implement llama-index's `BaseRetriever`; `HybridRetriever.search` fuses them and
returns `Hit`s, our own record. Date and source filters reach Chroma as a `where` only when asked
for (a filter costs Chroma tens of milliseconds) and BM25 as a weight mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ingest.index import Index, date_number
from ingest.tokens import get_tokenizer

if TYPE_CHECKING:
    import numpy as np

    from ingest.embed import Embedder

RRF_K = 60  # the constant of reciprocal-rank fusion (Cormack et al.)


@dataclass(frozen=True)
class SearchFilter:
    """Dates as YYYY-MM-DD, inclusive; source is a file or archive name."""

    since: str | None = None
    until: str | None = None
    source: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.source)


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. `dense` is the cosine similarity, `bm25` the raw BM25 score."""

    chunk_id: str
    article_id: str
    title: str
    date: str | None
    source: str
    text: str
    start: int
    end: int
    score: float  # fused
    dense: float | None = None
    bm25: float | None = None


def _to_chroma_where(filters: SearchFilter) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if filters.since:
        clauses.append({"date_num": {"$gte": date_number(filters.since)}})
    if filters.until:
        clauses.append({"date_num": {"$lte": date_number(filters.until)}})
    if filters.source:
        clauses.append({"source": {"$eq": filters.source}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class DenseRetriever(BaseRetriever):
    """Nearest chunks by the query's embedding, from the index's Chroma store."""

    def __init__(self, index: Index, embedder: Embedder, top_k: int, filters: SearchFilter = SearchFilter()) -> None:
        super().__init__()
        self._index, self._embedder, self._top_k, self._filters = index, embedder, top_k, filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        vector = self._embedder.encode_query(query_bundle.query_str)
        result = self._index.dense_query(vector.tolist(), self._top_k, _to_chroma_where(self._filters))
        # llama-index reports exp(-distance); with cosine space that is exp(cos - 1)
        return [
            NodeWithScore(node=node, score=1.0 + math.log(max(similarity, 1e-12)))
            for node, similarity in zip(result.nodes or [], result.similarities or [])
        ]


class ChineseBM25Retriever(BaseRetriever):
    """BM25 over the index's Chinese tokens (the tokenizer the index was built with)."""

    def __init__(self, index: Index, top_k: int, filters: SearchFilter = SearchFilter()) -> None:
        super().__init__()
        self._index, self._top_k, self._filters = index, top_k, filters
        self._tokenize = get_tokenizer(index.tokenizer_name)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        import numpy as np

        bm25, ids = self._index.bm25()
        tokens = self._tokenize(query_bundle.query_str)
        if bm25 is None or not tokens:
            return []
        scores = bm25.get_scores(tokens, weight_mask=self._mask(ids) if self._filters.active else None)
        top = min(self._top_k, len(ids))
        best = np.argpartition(-scores, top - 1)[:top]
        best = best[np.argsort(-scores[best])]
        return [NodeWithScore(node=TextNode(id_=ids[i]), score=float(scores[i])) for i in best if scores[i] > 0]

    def _mask(self, ids: list[str]) -> np.ndarray:
        import numpy as np

        dates, sources = self._index.chunk_dates_and_sources(ids)
        mask = np.ones(len(ids), dtype=bool)
        if self._filters.since:
            mask &= dates >= date_number(self._filters.since)
        if self._filters.until:
            mask &= dates <= date_number(self._filters.until)
        if self._filters.source:
            mask &= sources == self._filters.source
        return mask.astype("float32")


def reciprocal_rank_fusion(rankings: list[list[str]], weights: list[float] | None = None,
                           k: int = RRF_K) -> dict[str, float]:
    """{id: sum over rankings of weight / (k + rank)}, rank from 1."""
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings)):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


class HybridRetriever:
    """Dense + BM25 candidates, fused by reciprocal rank, as `Hit`s with both raw scores."""

    def __init__(self, index: Index, embedder: Embedder, candidates: int = 30, dense_weight: float = 1.0) -> None:
        self.index, self.embedder, self.candidates, self.dense_weight = index, embedder, candidates, dense_weight

    def search(self, query: str, k: int = 8, filters: SearchFilter = SearchFilter()) -> list[Hit]:
        """The best `k` chunks for `query`, best first."""
        bundle = QueryBundle(query_str=query)
        dense = DenseRetriever(self.index, self.embedder, self.candidates, filters).retrieve(bundle)
        sparse = ChineseBM25Retriever(self.index, self.candidates, filters).retrieve(bundle)
        dense_scores = {n.node.node_id: float(n.score or 0.0) for n in dense}
        bm25_scores = {n.node.node_id: float(n.score or 0.0) for n in sparse}
        fused = reciprocal_rank_fusion([list(dense_scores), list(bm25_scores)], [self.dense_weight, 1.0])
        best = sorted(fused, key=lambda chunk_id: -fused[chunk_id])[:k]
        rows = self.index.chunk_rows(best)
        return [
            Hit(chunk_id=c, article_id=rows[c]["article_id"], title=rows[c]["title"], date=rows[c]["date"],
                source=rows[c]["source"], text=rows[c]["text"], start=rows[c]["start"], end=rows[c]["end"],
                score=fused[c], dense=dense_scores.get(c), bm25=bm25_scores.get(c))
            for c in best if c in rows
        ]

"""Hybrid retrieval in llama-index's terms: a dense and a Chinese BM25 `BaseRetriever`, fused by
llama-index's `QueryFusionRetriever` (reciprocal rank, one query, no LLM).

The retrievers are built once per engine; a question's date and source filters travel in its
`SearchQuery` (a `QueryBundle`), so one retriever serves every thread of the chat page. Filters reach
Chroma as a `where` only when asked for (a filter costs Chroma tens of milliseconds) and BM25 as a
weight mask.

Store of record: the SQLite article store holds the text and every chunk's offsets. Chroma holds a
chunk's id, vector and the fields it filters on; BM25 holds token ids. Both retrievers therefore
return nodes built from the store's rows (`chunk_nodes`), identical for one chunk whichever side found
it, which is what llama-index's fusion needs: it merges nodes by their text-and-metadata hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ingest.index import Index, date_number
from ingest.tokens import get_tokenizer

if TYPE_CHECKING:
    import numpy as np

    from ingest.embed import Embedder


@dataclass(frozen=True)
class SearchFilter:
    """Dates as YYYY-MM-DD, inclusive; source is a file or archive name."""

    since: str | None = None
    until: str | None = None
    source: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.source)


@dataclass
class SearchQuery(QueryBundle):
    """A question with its filters; llama-index's fusion hands this same object to each retriever, so
    each leaves its own scores here ({"dense": {chunk id: cosine}, "bm25": {chunk id: share of the best}})
    for the answerer, which the fused reciprocal rank would otherwise lose."""

    filters: SearchFilter = SearchFilter()
    side_scores: dict[str, dict[str, float]] = field(default_factory=dict)


def _filters_of(query_bundle: QueryBundle) -> SearchFilter:
    return getattr(query_bundle, "filters", SearchFilter())


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk; `score` is its fused reciprocal-rank score."""

    chunk_id: str
    article_id: str
    title: str
    date: str | None
    source: str
    text: str
    start: int
    end: int
    score: float
    dense: float = 0.0  # the dense retriever's cosine for this chunk (0: it did not propose it)
    lexical: float = 0.0  # its BM25 score as a share of the question's best (0: BM25 did not propose it)

    @classmethod
    def of(cls, found: NodeWithScore, side_scores: dict[str, dict[str, float]] | None = None) -> Hit:
        meta, chunk_id = found.node.metadata, found.node.node_id
        sides = side_scores or {}
        return cls(chunk_id=chunk_id, article_id=meta["article_id"], title=meta["title"],
                   date=meta["date"] or None, source=meta["source"], text=found.node.get_content(),
                   start=meta["start"], end=meta["end"], score=float(found.score or 0.0),
                   dense=sides.get("dense", {}).get(chunk_id, 0.0), lexical=sides.get("bm25", {}).get(chunk_id, 0.0))


def chunk_nodes(index: Index, chunk_ids: list[str]) -> dict[str, TextNode]:
    """{chunk id: its node}, text and fields read from the store of record; ids it lacks are left out."""
    rows = index.chunk_rows(chunk_ids)
    return {
        chunk_id: TextNode(id_=chunk_id, text=row["text"], metadata={
            "article_id": row["article_id"], "title": row["title"], "date": row["date"] or "",
            "source": row["source"], "start": row["start"], "end": row["end"]})
        for chunk_id, row in rows.items()
    }


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

    def __init__(self, index: Index, embedder: Embedder, top_k: int) -> None:
        super().__init__()
        self._index, self._embedder, self._top_k = index, embedder, top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        vector = self._embedder.encode_query(query_bundle.query_str)
        where = _to_chroma_where(_filters_of(query_bundle))
        found = self._index.dense_query(vector.tolist(), self._top_k, where)
        if isinstance(query_bundle, SearchQuery):
            query_bundle.side_scores["dense"] = dict(found)
        nodes = chunk_nodes(self._index, [chunk_id for chunk_id, _ in found])
        return [NodeWithScore(node=nodes[i], score=similarity) for i, similarity in found if i in nodes]


class ChineseBM25Retriever(BaseRetriever):
    """BM25 over the index's Chinese tokens (the tokenizer the index was built with)."""

    def __init__(self, index: Index, top_k: int) -> None:
        super().__init__()
        self._index, self._top_k = index, top_k
        self._tokenize = get_tokenizer(index.tokenizer_name)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        import numpy as np

        bm25, ids = self._index.bm25()
        tokens = self._tokenize(query_bundle.query_str)
        if bm25 is None or not tokens:
            return []
        filters = _filters_of(query_bundle)
        scores = bm25.get_scores(tokens, weight_mask=self._mask(ids, filters) if filters.active else None)
        top = min(self._top_k, len(ids))
        best = np.argpartition(-scores, top - 1)[:top]
        best = [i for i in best[np.argsort(-scores[best])] if scores[i] > 0]
        if isinstance(query_bundle, SearchQuery) and best:
            query_bundle.side_scores["bm25"] = {ids[i]: float(scores[i] / scores[best[0]]) for i in best}
        nodes = chunk_nodes(self._index, [ids[i] for i in best])
        return [NodeWithScore(node=nodes[ids[i]], score=float(scores[i])) for i in best if ids[i] in nodes]

    def _mask(self, ids: list[str], filters: SearchFilter) -> np.ndarray:
        import numpy as np

        dates, sources = self._index.chunk_dates_and_sources(ids)
        mask = np.ones(len(ids), dtype=bool)
        if filters.since:
            mask &= dates >= date_number(filters.since)
        if filters.until:
            mask &= dates <= date_number(filters.until)
        if filters.source:
            mask &= sources == filters.source
        return mask.astype("float32")


def hybrid_retriever(index: Index, embedder: Embedder, candidates: int = 30) -> QueryFusionRetriever:
    """Dense + BM25, `candidates` each, fused by llama-index's reciprocal rank (k = 60, equal weights).

    Example:
        >>> hybrid_retriever(index, embedder).retrieve(SearchQuery("王宏伟提出了哪几点要求"))[0].node.metadata["title"]
    """
    return QueryFusionRetriever(
        [DenseRetriever(index, embedder, candidates), ChineseBM25Retriever(index, candidates)],
        mode="reciprocal_rerank", num_queries=1, similarity_top_k=2 * candidates, use_async=False,
        llm=MockLLM(),  # one query: nothing is rewritten, and no LLM (nor llama-index's OpenAI default) is needed
    )


def search(retriever: BaseRetriever, query: str, k: int = 8, filters: SearchFilter = SearchFilter()) -> list[Hit]:
    """The best `k` chunks for `query`, best first, as `Hit`s."""
    return [Hit.of(found) for found in retriever.retrieve(SearchQuery(query_str=query, filters=filters))[:k]]

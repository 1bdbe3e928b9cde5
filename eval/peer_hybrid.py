"""The second peer for `newsqa bench`: llama-index's own hybrid recipe over the plain peer's nodes.

`QueryFusionRetriever(mode="reciprocal_rerank", num_queries=1)` fuses the plain peer's vector
retriever with a BM25 retriever over the same nodes, as llama-index's hybrid-search guide builds it,
with no LLM (`Settings.llm = None`, set in eval/peer.py, and one query: nothing is rewritten). The
BM25 side implements llama-index's `BaseRetriever` over bm25s and tokenizes with newsqa's own
Chinese tokenizer (ingest/tokens.py), because llama-index's stock BM25 retriever keeps a whole
Chinese clause as one token: the comparison is then about the pipeline, not about tokens.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from eval.bench_questions import K, Retrieved
from eval.peer import PeerPipeline, fill_articles
from ingest.tokens import DEFAULT_TOKENIZER, get_tokenizer

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode


class ChineseNodesBM25(BaseRetriever):
    """BM25 (bm25s) over llama-index nodes kept in memory; `add` tokenizes only the new nodes and
    rebuilds the arrays (bm25s cannot add to an index)."""

    def __init__(self, tokenizer: str = DEFAULT_TOKENIZER, top_k: int = K) -> None:
        super().__init__()
        self.top_k = top_k
        self._tokenize = get_tokenizer(tokenizer)
        self._nodes: list[TextNode] = []
        self._token_ids: list[list[int]] = []  # ids share the vocabulary's int objects: 8 bytes a token
        self._vocab: dict[str, int] = {}
        self._bm25: Any = None

    def add(self, nodes: list[TextNode]) -> None:
        """Index `nodes` beside those added before; as newsqa does, the title is tokenized with the text."""
        import bm25s

        for node in nodes:
            text = f"{node.metadata.get('title', '')} {node.get_content(metadata_mode=MetadataMode.NONE)}"
            self._token_ids.append([self._vocab.setdefault(token, len(self._vocab)) for token in self._tokenize(text)])
        self._nodes.extend(nodes)
        self._bm25 = bm25s.BM25()
        self._bm25.index((self._token_ids, dict(self._vocab)), show_progress=False)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        import numpy as np

        ids = [self._vocab[t] for t in self._tokenize(query_bundle.query_str) if t in self._vocab]
        if self._bm25 is None or not ids:
            return []
        scores = self._bm25.get_scores(ids)
        top = min(self.top_k, len(self._nodes))
        best = np.argpartition(-scores, top - 1)[:top]
        best = best[np.argsort(-scores[best])]
        return [NodeWithScore(node=self._nodes[i], score=float(scores[i])) for i in best if scores[i] > 0]


class HybridPeer:
    """The plain peer's vector retriever and `ChineseNodesBM25`, fused by llama-index."""

    def __init__(self, plain: PeerPipeline, tokenizer: str = DEFAULT_TOKENIZER) -> None:
        self.plain = plain
        self.bm25 = ChineseNodesBM25(tokenizer)

    def add(self, nodes: list[TextNode]) -> float:
        """Index the nodes the plain peer just stored; seconds spent (the hybrid's extra ingest)."""
        started = time.perf_counter()
        self.bm25.add(nodes)
        return time.perf_counter() - started

    def retriever(self, top_k: int) -> BaseRetriever:
        """`QueryFusionRetriever` over both sides, `top_k` nodes from each and from the fusion."""
        from llama_index.core.retrievers import QueryFusionRetriever

        self.bm25.top_k = top_k
        return QueryFusionRetriever([self.plain.dense_retriever(top_k), self.bm25], mode="reciprocal_rerank",
                                    num_queries=1, similarity_top_k=top_k)

    def articles(self, question: str, k: int = K) -> list[Retrieved]:
        """The first `k` distinct stories of the fused ranking for `question`, best first."""
        bundle = self.plain.bundle(question)
        return fill_articles(lambda top: self.retriever(top).retrieve(bundle), self.plain.nodes, k)

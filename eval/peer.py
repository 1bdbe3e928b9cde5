"""The peer baseline for `newsqa bench`: the plain llama-index pipeline a newcomer would write.

Stories become llama-index `Document`s (the story id as the document id; title and date as
metadata, which llama-index embeds with the text by default), `SentenceSplitter()` with its
defaults, `VectorStoreIndex` on a persistent Chroma collection, and the default vector retriever.
Only the pipeline differs from ours; the budget is the same:
- the embedding model is ours, called with newsqa's ingest batch (`IngestConfig.batch_chunks`);
- a question gets the first five distinct articles, as newsqa's answerer reads at most five: the
  retriever is asked for more nodes until five distinct stories are among them.
Nothing else is tuned: it is the yardstick, not a product.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.bench_questions import K, Retrieved, first_articles

if TYPE_CHECKING:
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

    from ingest.embed import Embedder

COLLECTION = "peer"
MAX_NODES = 1024  # a question whose top nodes never reach five stories stops here


def offline_settings(embed_model: Any) -> None:
    """Point llama-index's global defaults at our model and at no LLM, before any object is built:
    `QueryFusionRetriever` and friends fall back to `Settings.llm`, which is OpenAI unless set."""
    from llama_index.core import Settings

    Settings.embed_model = embed_model
    with contextlib.redirect_stdout(sys.stderr):  # llama-index prints "LLM is explicitly disabled"
        Settings.llm = None


def _llama_embedding(embedder: Embedder, batch: int) -> Any:
    """Our embedder behind llama-index's `BaseEmbedding` contract (query/passage prefixes included)."""
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class SameModel(BaseEmbedding):
        _embedder: Any = PrivateAttr()

        def __init__(self, model: Embedder) -> None:
            super().__init__(model_name=model.name, embed_batch_size=batch)
            self._embedder = model

        def _get_query_embedding(self, query: str) -> list[float]:
            return [float(x) for x in self._embedder.encode_query(query)]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embeddings([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in row] for row in self._embedder.encode_passages(texts)]

    return SameModel(embedder)


def fill_articles(retrieve: Callable[[int], list[NodeWithScore]], nodes: int, k: int = K) -> list[Retrieved]:
    """The first `k` distinct stories of `retrieve(top)`, doubling `top` from `k` until they are
    there or `top` covers all `nodes` of the store (or MAX_NODES)."""
    top = k
    while True:
        found = first_articles(((n.node.ref_doc_id or n.node.node_id, str(n.node.metadata.get("title", "")))
                                for n in retrieve(top)), k)
        if len(found) >= k or top >= min(nodes, MAX_NODES):
            return found
        top *= 2


@dataclass(frozen=True)
class PeerIngest:
    stories: int
    nodes: list[TextNode]
    seconds: float


class PeerPipeline:
    """One persistent Chroma directory that grows as `add` is called with more stories."""

    def __init__(self, directory: Path, embedder: Embedder) -> None:
        import chromadb
        from llama_index.core import VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from ingest.pipeline import IngestConfig

        self.embed_model = _llama_embedding(embedder, IngestConfig().batch_chunks)
        offline_settings(self.embed_model)
        collection = chromadb.PersistentClient(path=str(directory)).get_or_create_collection(COLLECTION)
        self.store = ChromaVectorStore(chroma_collection=collection)
        self.index = VectorStoreIndex.from_vector_store(self.store, embed_model=self.embed_model)
        self.nodes = collection.count()  # nodes stored: asking for more finds nothing new

    def add(self, stories: list[dict[str, Any]]) -> PeerIngest:
        """Split, embed and store `stories` (xwlb-shaped records) the stock way; timed as a whole."""
        from llama_index.core import Document
        from llama_index.core.node_parser import SentenceSplitter

        started = time.perf_counter()
        documents = [Document(text=s["content"], metadata={"title": s.get("title", ""), "date": s.get("date", "")},
                              **({"id_": str(s["id"])} if s.get("id") else {})) for s in stories]
        nodes = SentenceSplitter().get_nodes_from_documents(documents)
        self.index.insert_nodes(nodes, show_progress=True)
        self.nodes += len(nodes)
        return PeerIngest(len(stories), nodes, time.perf_counter() - started)

    def bundle(self, question: str) -> QueryBundle:
        """The question with its embedding, computed once however many times the store is asked."""
        from llama_index.core.schema import QueryBundle

        return QueryBundle(question, embedding=self.embed_model.get_query_embedding(question))

    def dense_retriever(self, top_k: int) -> Any:
        """llama-index's default vector retriever over the store."""
        return self.index.as_retriever(similarity_top_k=top_k)

    def articles(self, question: str, k: int = K) -> list[Retrieved]:
        """The first `k` distinct stories the default retriever finds for `question`, best first."""
        bundle = self.bundle(question)
        return fill_articles(lambda top: self.dense_retriever(top).retrieve(bundle), self.nodes, k)

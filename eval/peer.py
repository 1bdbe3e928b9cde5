"""The peer baseline for `newsqa bench`: the plain llama-index pipeline a newcomer would write.

Stories become llama-index `Document`s (title and date as metadata, which llama-index embeds with the
text by default), `SentenceSplitter()` with its defaults, `VectorStoreIndex` on a persistent Chroma
collection, and the default vector retriever asked for five nodes. The embedding model is ours, so
only the pipeline differs. Nothing here is tuned: it is the yardstick, not a product.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.embed import Embedder

COLLECTION = "peer"
TOP_K = 5


def _llama_embedding(embedder: Embedder) -> Any:
    """Our embedder behind llama-index's `BaseEmbedding` contract (query/passage prefixes included)."""
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class SameModel(BaseEmbedding):
        _embedder: Any = PrivateAttr()

        def __init__(self, model: Embedder) -> None:
            super().__init__(model_name=model.name)
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


@dataclass(frozen=True)
class PeerIngest:
    stories: int
    nodes: int
    seconds: float


class PeerPipeline:
    """One persistent Chroma directory that grows as `add` is called with more stories."""

    def __init__(self, directory: Path, embedder: Embedder) -> None:
        import chromadb
        from llama_index.core import Settings
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.embed_model = _llama_embedding(embedder)
        Settings.embed_model = self.embed_model  # never let llama-index reach for OpenAI's defaults
        client = chromadb.PersistentClient(path=str(directory))
        self.store = ChromaVectorStore(chroma_collection=client.get_or_create_collection(COLLECTION))
        self._retriever: Any = None

    def add(self, stories: list[dict[str, Any]]) -> PeerIngest:
        """Split, embed and store `stories` (xwlb-shaped records) the stock way; timed as a whole."""
        from llama_index.core import Document, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter

        started = time.perf_counter()
        documents = [Document(text=s["content"], metadata={"title": s.get("title", ""), "date": s.get("date", "")})
                     for s in stories]
        nodes = SentenceSplitter().get_nodes_from_documents(documents)
        VectorStoreIndex(nodes, storage_context=StorageContext.from_defaults(vector_store=self.store),
                         embed_model=self.embed_model, show_progress=True)
        self._retriever = None
        return PeerIngest(len(stories), len(nodes), time.perf_counter() - started)

    def titles(self, question: str) -> list[str]:
        """Titles of the default retriever's top nodes for `question`, best first."""
        if self._retriever is None:
            from llama_index.core import VectorStoreIndex

            index = VectorStoreIndex.from_vector_store(self.store, embed_model=self.embed_model)
            self._retriever = index.as_retriever(similarity_top_k=TOP_K)
        return [str(n.node.metadata.get("title", "")) for n in self._retriever.retrieve(question)]


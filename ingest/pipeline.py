"""ingest_paths(): read -> clean -> articles -> chunks -> diff -> embed -> index, with a report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.articles import Article, normalise_date, split_document
from ingest.chunk import DEFAULT_MAX_CHARS, Chunk, chunk_article
from ingest.embed import Embedder, load_embedder
from ingest.errors import IngestError
from ingest.index import Index
from ingest.read import expand_paths, read_file
from ingest.tokens import DEFAULT_TOKENIZER, get_tokenizer

# progress(done, total, what): chunks embedded so far, of all chunks to embed
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class IngestConfig:
    """Knobs of one ingest run."""

    model: str | None = None  # sentence-transformers name or path; None: the default e5-small
    date: str | None = None  # issue date for inputs that do not carry one
    max_chars: int = DEFAULT_MAX_CHARS
    tokenizer: str = DEFAULT_TOKENIZER
    chroma_url: str | None = None
    lock_wait_seconds: float = 0.0
    batch_chunks: int = 256  # chunks per embedding call and per store transaction


@dataclass
class IngestReport:
    """What one run did; `errors` holds one {path, error} per input that failed."""

    files: int = 0
    articles_added: int = 0
    articles_unchanged: int = 0
    articles_replaced: int = 0
    chunks_added: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    errors_zh: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    runtime: str = ""
    added_ids: list[str] = field(default_factory=list)

    def add_error(self, error: IngestError) -> None:
        self.errors.append({"path": error.path, "error": error.reason})
        self.errors_zh.append({"path": error.path, "error": error.reason_zh})

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("errors_zh")
        data.pop("added_ids")
        return data


def collect_articles(paths: list[str], issue_date: str | None, report: IngestReport) -> list[Article]:
    """Every article in the inputs, in input order; per-file problems go into the report."""
    articles: list[Article] = []
    first_seen: dict[str, str] = {}
    for item in expand_paths(paths):
        if isinstance(item, IngestError):
            report.add_error(item)
            continue
        report.files += 1
        try:
            result = read_file(item)
        except IngestError as error:
            report.add_error(error)
            continue
        for error in result.errors:
            report.add_error(error)
        for document in result.documents:
            for article in split_document(document, issue_date):
                if article.id in first_seen:
                    report.add_error(IngestError(
                        str(item), f"duplicate article id {article.id!r} (first in {first_seen[article.id]}); kept the first",
                        f"文章编号 {article.id} 重复，保留了第一篇"))
                    continue
                first_seen[article.id] = str(item)
                articles.append(article)
    return articles


def _embedding_text(article: Article, chunk: Chunk) -> str:
    # the headline tells the model what a short paragraph is about
    return f"{article.title}\n{chunk.text}"


def _store_batch(index: Index, embedder: Embedder, batch: list[tuple[Article, list[Chunk], list[list[str]]]]) -> None:
    import numpy as np

    texts = [_embedding_text(article, chunk) for article, chunks, _ in batch for chunk in chunks]
    vectors = embedder.encode_passages(texts) if texts else np.zeros((0, embedder.dim), dtype="float32")
    index.put_articles(batch, vectors)


def ingest_paths(
    paths: list[str],
    index_dir: Path,
    config: IngestConfig = IngestConfig(),
    progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Ingest files, directories or globs into the index at `index_dir`.

    Unchanged articles are skipped, changed ones replace their old chunks, and bad inputs are
    reported per file while the rest is ingested.

    Example:
        >>> report = ingest_paths(["samples/"], Path("data/index"))
        >>> report.articles_added
        4

    Raises:
        ValueError: `config.date` is not a date.
        IndexMismatch: the index was built with another model.
        IndexBusy: another ingest holds the index.
    """
    started = time.perf_counter()
    if config.date and not normalise_date(config.date):
        raise ValueError("--date must be YYYY-MM-DD")
    report = IngestReport()
    articles = collect_articles(paths, normalise_date(config.date), report)
    index = Index(index_dir, config.chroma_url)
    # no --model: keep the model the index was built with, so a re-ingest never mixes two
    embedder = embedder or load_embedder(config.model or index.info().get("model"))
    report.runtime = embedder.runtime
    tokenize = get_tokenizer(config.tokenizer)
    with index.writing(config.lock_wait_seconds):
        index.check_model(embedder, config.tokenizer)
        known = index.article_hashes()
        todo: list[tuple[Article, list[Chunk], list[list[str]]]] = []
        for article in articles:
            if known.get(article.id) == article.content_hash:
                report.articles_unchanged += 1
                continue
            chunks = chunk_article(article.id, article.text, config.max_chars)
            tokens = [tokenize(f"{article.title} {chunk.text}") for chunk in chunks]
            todo.append((article, chunks, tokens))
            if article.id in known:
                report.articles_replaced += 1
            else:
                report.articles_added += 1
                report.added_ids.append(article.id)
        embed_before = getattr(getattr(embedder, "timer", None), "seconds", 0.0)
        _embed_in_batches(index, embedder, todo, config.batch_chunks, progress)
        report.chunks_added = sum(len(chunks) for _, chunks, _ in todo)
        if todo:
            index.rebuild_bm25()
        report.embed_seconds = getattr(getattr(embedder, "timer", None), "seconds", 0.0) - embed_before
    index.close()
    report.seconds = time.perf_counter() - started
    return report


def _embed_in_batches(
    index: Index, embedder: Embedder, todo: list[tuple[Article, list[Chunk], list[list[str]]]],
    batch_size: int, progress: Progress | None,
) -> None:
    """Embed and store about `batch_size` chunks at a time; each batch is committed on its own,
    so a crash loses at most the batch in flight."""
    total = sum(len(chunks) for _, chunks, _ in todo)
    done = 0
    batch: list[tuple[Article, list[Chunk], list[list[str]]]] = []
    batch_chunks = 0
    for position, item in enumerate(todo):
        batch.append(item)
        batch_chunks += len(item[1])
        if batch_chunks >= batch_size or position == len(todo) - 1:
            _store_batch(index, embedder, batch)
            done += batch_chunks
            batch, batch_chunks = [], 0
            if progress:
                progress(done, total, item[0].title)

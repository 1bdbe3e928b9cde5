"""ingest_paths(): read -> clean -> articles -> chunks -> diff -> embed -> index, with a report
(taking a source out again: ingest/remove.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest.articles import Article, normalise_date, split_document, unscoped_ids
from ingest.chunk import DEFAULT_MAX_CHARS, Chunk, chunk_article
from ingest.embed import Embedder, load_embedder
from ingest.errors import IngestError
from ingest.index import Index
from ingest.read import expand_paths, key_function, read_file
from ingest.tokens import DEFAULT_TOKENIZER, get_tokenizer

# progress(done, total, what): chunks embedded so far, of all chunks to embed
Progress = Callable[[int, int, str], None]
Todo = list[tuple[Article, list[Chunk]]]  # (article, its chunks); BM25 tokens are made per batch


@dataclass
class IngestWatch:
    """Lets another thread follow a running ingest and stop it (the page's 取消 button): `cancel`
    is checked between files and between batches; the counts are updated as the run goes."""

    cancel: threading.Event = field(default_factory=threading.Event)
    files_read: int = 0
    articles_total: int = 0  # new or changed articles to write
    articles_done: int = 0  # of those, committed


class IngestCancelled(Exception):
    """The run was cancelled through its IngestWatch; `report` counts what was committed and kept
    (whole batches, with BM25 brought up to them); nothing was removed."""

    def __init__(self, report: IngestReport) -> None:
        super().__init__(f"ingest cancelled; kept {report.articles_added + report.articles_replaced} articles")
        self.report = report


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
    source_key: str = "path"  # how files are told apart (ingest.read.key_function); "name" for page uploads
    watch: IngestWatch | None = field(default=None, compare=False)  # follow or cancel the run from another thread


@dataclass
class IngestReport:
    """What one run did; `errors` holds one {path, error} per input that failed."""

    files: int = 0
    articles_added: int = 0
    articles_unchanged: int = 0
    articles_replaced: int = 0  # the same source's article changed
    articles_removed: int = 0  # no longer in a source read again, so taken out of the index
    chunks_added: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    errors_zh: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    runtime: str = ""
    added_ids: list[str] = field(default_factory=list)
    # one {path, articles, split} per file read: how many articles it gave and how they were told
    # apart (headings, headlines, layout, page, whole, record), so a wrong split shows
    file_articles: list[dict[str, Any]] = field(default_factory=list)

    def add_error(self, error: IngestError) -> None:
        self.errors.append({"path": error.path, "error": error.reason})
        self.errors_zh.append({"path": error.path, "error": error.reason_zh})

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("errors_zh")
        data.pop("added_ids")
        return data


def collect_articles(
    paths: list[str], issue_date: str | None, report: IngestReport, scheme: str = "path",
    watch: IngestWatch | None = None,
) -> tuple[list[Article], set[str]]:
    """Every article in the inputs, in input order, and the keys of the sources read without any
    problem (only those may lose stored articles); per-file problems go into the report. A
    cancelled `watch` stops the reading before the next file."""
    key_of = key_function(scheme)
    articles: list[Article] = []
    complete: set[str] = set()
    first_seen: dict[str, str] = {}
    key_paths: dict[str, Path] = {}
    for item in expand_paths(paths):
        if watch is not None and watch.cancel.is_set():
            break
        if isinstance(item, IngestError):
            report.add_error(item)
            continue
        report.files += 1
        try:
            result = read_file(item)
        except IngestError as error:
            report.add_error(error)
            continue
        finally:
            if watch is not None:
                watch.files_read = report.files
        key = key_of(item)
        if key_paths.setdefault(key, item) != item:  # only by name: two uploads called 01.txt
            report.add_error(IngestError(str(item), f"another input of this run is the same source {key!r}; ingest it on its own",
                                         f"本次导入中另有同一来源 {key}，请单独导入"))
            continue
        for error in result.errors:
            report.add_error(error)
        whole = not result.errors
        found = [a for d in result.documents for a in split_document(replace(d, source_key=key), issue_date)]
        splits = sorted({str(a.meta.get("split", "record")) for a in found})
        report.file_articles.append({"path": str(item), "articles": len(found), "split": ",".join(splits)})
        for article in found:
            if article.id in first_seen:
                whole = False
                report.add_error(IngestError(
                    str(item), f"duplicate article id {article.id!r} (first in {first_seen[article.id]}); kept the first",
                    f"文章编号 {article.id} 重复，保留了第一篇"))
                continue
            first_seen[article.id] = str(item)
            articles.append(article)
        if whole:
            complete.add(key)
    return articles, complete


def _embedding_text(article: Article, chunk: Chunk) -> str:
    # the headline tells the model what a short paragraph is about
    return f"{article.title}\n{chunk.text}"


def _store_batch(index: Index, embedder: Embedder, batch: Todo, tokenize: Callable[[str], list[str]]) -> None:
    import numpy as np

    texts = [_embedding_text(article, chunk) for article, chunks in batch for chunk in chunks]
    vectors = embedder.encode_passages(texts) if texts else np.zeros((0, embedder.dim), dtype="float32")
    # tokens per batch, not per run: a run of 11k stories held 0.4 GB of token strings at once
    index.put_articles([(article, chunks, [tokenize(f"{article.title} {chunk.text}") for chunk in chunks])
                        for article, chunks in batch], vectors)


def ingest_paths(
    paths: list[str],
    index_dir: Path,
    config: IngestConfig = IngestConfig(),
    progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Ingest files, directories or globs into the index at `index_dir`.

    A file read again replaces its own articles as a set: new ones are added, changed ones
    replaced, and those no longer in it removed; a file that failed to read keeps what it had.
    Unchanged articles are skipped, and bad inputs are reported per file while the rest is ingested.

    Example:
        >>> report = ingest_paths(["samples/"], Path("data/index"))
        >>> report.articles_added
        4

    Raises:
        ValueError: `config.date` is not a date, or `config.source_key` no known scheme.
        IndexMismatch: the index was built with another model.
        IndexBusy: another ingest holds the index.
        IngestCancelled: `config.watch` was cancelled; the batches committed before are kept.
    """
    started = time.perf_counter()
    if config.date and not normalise_date(config.date):
        raise ValueError("--date must be YYYY-MM-DD")
    report = IngestReport()
    watch = config.watch
    articles, complete = collect_articles(paths, normalise_date(config.date), report, config.source_key, watch)
    if watch is not None and watch.cancel.is_set():  # while reading: nothing written yet
        raise IngestCancelled(report)
    index = Index(index_dir, config.chroma_url)
    # no --model: keep the model the index was built with, so a re-ingest never mixes two
    embedder = embedder or load_embedder(config.model or index.info().get("model"))
    report.runtime = embedder.runtime
    cancelled = False
    try:
        with index.writing(config.lock_wait_seconds):
            index.check_model(embedder, config.tokenizer)
            todo, stale = _plan(index, articles, complete, report, config)
            if watch is not None:
                watch.articles_total = len(todo)
            embed_before = getattr(getattr(embedder, "timer", None), "seconds", 0.0)
            committed = _embed_in_batches(index, embedder, todo, get_tokenizer(config.tokenizer), config.batch_chunks,
                                          progress, watch)
            cancelled = committed < len(todo)
            if cancelled:  # keep what was committed, remove nothing: the run did not see its sources through
                report, todo, stale = _kept(report, todo, committed), todo[:committed], []
            report.chunks_added = sum(len(chunks) for _, chunks in todo)
            # deleted after the new versions are stored: a reader never misses a corrected article
            index.delete_articles(stale)
            if todo or stale:
                index.sync_bm25()
            report.embed_seconds = getattr(getattr(embedder, "timer", None), "seconds", 0.0) - embed_before
    finally:
        index.close()
    report.seconds = time.perf_counter() - started
    if cancelled:
        raise IngestCancelled(report)
    return report


def _kept(report: IngestReport, todo: Todo, committed: int) -> IngestReport:
    """`report` of a cancelled run, counting only the first `committed` articles of `todo`."""
    kept = {article.id for article, _ in todo[:committed]}
    added = [i for i in report.added_ids if i in kept]
    return replace(report, articles_added=len(added), articles_replaced=len(kept) - len(added), articles_removed=0,
                   added_ids=added)


def _plan(index: Index, articles: list[Article], complete: set[str], report: IngestReport,
          config: IngestConfig) -> tuple[Todo, list[str]]:
    """(articles to write with their chunks, stored article ids to delete): the stored
    articles of each complete source that it no longer holds, and superseded pre-source-key copies."""
    known = index.article_hashes()
    sources = index.article_sources()
    predecessors = _predecessors(articles, sources)
    todo: Todo = []
    meta_only: list[Article] = []
    for article in articles:
        if known.get(article.id) == article.content_hash:
            report.articles_unchanged += 1
            continue
        if article.id in known and _same_text(index.get_article(article.id), article):
            meta_only.append(article)  # e.g. a reader now notes the byline: store it, embed nothing again
            report.articles_unchanged += 1
            continue
        chunks = chunk_article(article.id, article.text, config.max_chars)
        todo.append((article, chunks))
        if article.id in known or article.id in predecessors:
            report.articles_replaced += 1
        else:
            report.articles_added += 1
            report.added_ids.append(article.id)
    if meta_only:
        index.update_meta(meta_only)
    in_run = {article.id for article in articles}
    gone = [i for i, (_name, key) in sources.items() if key in complete and i not in in_run]
    report.articles_removed = len(gone)
    return todo, gone + [old for old in predecessors.values() if old not in in_run]


def _same_text(stored: Article | None, article: Article) -> bool:
    """Whether what is embedded and indexed (title, date, source, text) is the same."""
    return stored is not None and (stored.title, stored.date, stored.source, stored.text) == \
        (article.title, article.date, article.source, article.text)


def _predecessors(articles: list[Article], sources: dict[str, tuple[str, str | None]]) -> dict[str, str]:
    """{article id: id of the same article stored before ids were scoped by source}. An index built
    then is re-keyed file by file as files are ingested again; only exact predecessors (same
    file name, title, date, ordinal or record id) go, so nothing another file holds is lost."""
    unscoped = {i: name for i, (name, key) in sources.items() if key is None}
    if not unscoped:
        return {}
    found: dict[str, str] = {}
    claimed: set[str] = set()  # two files of one name (the old collision) have one predecessor
    old_ids = unscoped_ids(articles)
    for article in articles:
        old = old_ids[article.id]
        if old != article.id and unscoped.get(old) == article.source and old not in claimed:
            found[article.id] = old
            claimed.add(old)
    return found


def _embed_in_batches(index: Index, embedder: Embedder, todo: Todo, tokenize: Callable[[str], list[str]],
                      batch_size: int, progress: Progress | None, watch: IngestWatch | None = None) -> int:
    """Embed and store about `batch_size` chunks at a time; each batch is committed on its own,
    so a crash loses at most the batch in flight. A cancelled `watch` stops before the next batch.
    Returns how many articles of `todo` were committed (all of them unless cancelled)."""
    total = sum(len(chunks) for _, chunks in todo)
    done = committed = 0
    batch: Todo = []
    batch_chunks = 0
    for position, item in enumerate(todo):
        batch.append(item)
        batch_chunks += len(item[1])
        if batch_chunks >= batch_size or position == len(todo) - 1:
            if watch is not None and watch.cancel.is_set():
                return committed
            _store_batch(index, embedder, batch, tokenize)
            done += batch_chunks
            committed = position + 1
            batch, batch_chunks = [], 0
            if watch is not None:
                watch.articles_done = committed
            if progress:
                progress(done, total, item[0].title)
    return committed

"""The index: an article store (SQLite, the source of truth), Chroma vectors and a bm25s index.

Layout of an index directory:
    articles.sqlite   articles, chunks (with their BM25 tokens) and what built the index
    chroma/           Chroma's persistent store (unless a Chroma server is used)
    bm25/             BM25 segments, tombstones and their manifest (bm25.py)
    write.lock        held by the one process that writes

Invariant: after every write, Chroma and BM25 hold exactly the chunk ids of the article store.
Writes go Chroma first, then one SQLite transaction, then BM25; a crash in between leaves Chroma
with extra ids, which the next writer removes (`_repair`), and re-running the ingest redoes the rest.
Every SQLite write also logs its chunk ids to `bm25_log` in the same transaction; `sync_bm25` applies
the log past the manifest's `applied_seq` as one delta, so BM25 work is proportional to the change
and a crash anywhere leaves a log the next writer applies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.articles import Article
from ingest.bm25 import Bm25Files
from ingest.chunk import Chunk
from ingest.errors import IndexBusy, IndexMismatch, StorageFull, StoreUnavailable
from ingest.tokens import DEFAULT_TOKENIZER

if TYPE_CHECKING:
    import numpy as np

    from ingest.embed import Embedder

SCHEMA_VERSION = "1"
COLLECTION = "newsqa_chunks"
_SCHEMA = """
create table if not exists info (key text primary key, value text not null);
create table if not exists articles (
    id text primary key, title text not null, date text, source text not null, text text not null,
    hash text not null, meta text not null, added_at real not null);
create table if not exists chunks (
    id text primary key, article_id text not null references articles(id), n integer not null,
    start integer not null, "end" integer not null, paragraph integer not null, tokens text not null);
create index if not exists chunks_by_article on chunks(article_id, n);
create table if not exists bm25_log (seq integer primary key autoincrement, chunk_id text not null, op integer not null);
"""


@dataclass(frozen=True)
class StoredArticle:
    """An article as the store holds it, with its chunk count."""

    article: Article
    chunks: int
    added_at: float


def date_number(date: str | None) -> int:
    """20231125 for 2023-11-25, 0 for no date: Chroma compares numbers, not strings."""
    return int(date.replace("-", "")) if date else 0


def _row_to_article(row: sqlite3.Row) -> Article:
    return Article(row["id"], row["title"], row["date"], row["source"], row["text"], json.loads(row["meta"]))


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes. A WAL database on a read-only mount has no -shm file to
    share, so when read-only mode cannot open it, it is opened as immutable (no writer can exist)."""
    from urllib.parse import quote

    for flags in ("mode=ro", "mode=ro&immutable=1"):
        db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?{flags}", uri=True, timeout=30, check_same_thread=False)
        try:
            db.execute("select count(*) from info").fetchone()
        except sqlite3.OperationalError:
            db.close()
            continue
        db.row_factory = sqlite3.Row
        return db
    raise sqlite3.OperationalError(f"cannot open {path} for reading")


def _scratch_copy(chroma_dir: Path) -> Path:
    """A private copy of a read-only Chroma store, removed at exit: Chroma writes its own SQLite
    file on every open (migrations), so it cannot open a store it may not write."""
    import atexit
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="newsqa-readonly-chroma-"))
    atexit.register(shutil.rmtree, scratch, True)
    shutil.copytree(chroma_dir, scratch / "chroma")
    return scratch / "chroma"


def _chroma_client(path: Path, url: str | None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        from urllib.parse import urlparse

        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1", port=parsed.port or 8000, ssl=parsed.scheme == "https", settings=settings
        )
    return chromadb.PersistentClient(path=str(path), settings=settings)


def _is_connection_error(exc: BaseException) -> bool:
    names = {type(e).__name__ for e in (exc, exc.__cause__, exc.__context__) if e is not None}
    return bool(names & {"ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError", "ReadError",
                         "ConnectionError", "ConnectionRefusedError", "WriteError"}) or "Could not connect" in str(exc)


def _is_disk_full(exc: BaseException) -> bool:
    """ENOSPC from Python, SQLite (code 13) or Chroma's Rust store, however it is wrapped."""
    import errno

    chain = [e for e in (exc, exc.__cause__, exc.__context__) if e is not None]
    return any(isinstance(e, OSError) and e.errno == errno.ENOSPC for e in chain) or any(
        "disk is full" in str(e) or "No space left" in str(e) for e in chain)


def _describe(info: dict[str, str]) -> str:
    return f"model {info['model']} (dim {info['dim']}, tokenizer {info['tokenizer']}, schema {info['schema']})"


class Index:
    """One index directory. Readers may be many; a writer must hold `writing()`."""

    def __init__(self, directory: Path, chroma_url: str | None = None) -> None:
        self.directory = Path(directory)
        self.chroma_url = chroma_url
        self._db: sqlite3.Connection | None = None
        self._collection: Any = None
        self._vector_store: Any = None
        self._client: Any = None
        self._store_generation: str | None = None
        self._store_lock = threading.RLock()
        self._writing = False
        self._bm25 = Bm25Files(self.directory)
        self._filter_cache_key: tuple[str | None, int] | None = None
        self._filter_cache: tuple[Any, Any] = (None, None)

    # ---- opening and describing -------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path, chroma_url: str | None = None) -> Index:
        """Open an existing index for reading.

        Raises:
            FileNotFoundError: no index there yet (say how to make one).
        """
        if not (Path(directory) / "articles.sqlite").exists():
            raise FileNotFoundError(f"no index at {directory}; create one with `newsqa ingest PATH --index {directory}`")
        return cls(directory, chroma_url)

    @property
    def read_only(self) -> bool:
        """True when this process cannot write the index (a read-only mount, a copy without write
        permission): it is opened for reading only, and nothing is written, not even WAL mode."""
        path = self.directory / "articles.sqlite"
        return path.exists() and not (os.access(path, os.W_OK) and os.access(self.directory, os.W_OK))

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            if self.read_only:
                self._db = _connect_read_only(self.directory / "articles.sqlite")
                return self._db
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.directory / "articles.sqlite", timeout=30, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            if self._db.execute("pragma journal_mode").fetchone()[0] != "wal":  # persistent: set once, by a writer
                self._db.execute("pragma journal_mode=wal")
            self._db.executescript(_SCHEMA)
        return self._db

    def info(self) -> dict[str, str]:
        """What built the index: schema, model, dim, tokenizer, generation."""
        return {row["key"]: row["value"] for row in self.db.execute("select key, value from info")}

    def check_model(self, embedder: Embedder, tokenizer: str = DEFAULT_TOKENIZER) -> None:
        """Record the model on first use; refuse another model or tokenizer later.

        Raises:
            IndexMismatch: the index was built with another model, dimension or tokenizer.
        """
        info = self.info()
        wanted = {"schema": SCHEMA_VERSION, "model": embedder.name, "dim": str(embedder.dim), "tokenizer": tokenizer}
        if not info.get("model"):
            with self.db:
                self.db.executemany("insert or replace into info values (?, ?)", wanted.items())
            return
        found = {key: info.get(key, "") for key in wanted}
        if found != wanted:
            raise IndexMismatch(str(self.directory), _describe(wanted), _describe(found))

    @property
    def tokenizer_name(self) -> str:
        return self.info().get("tokenizer", DEFAULT_TOKENIZER)

    # ---- the vector store (Chroma through llama-index) -----------------------------------------
    @contextlib.contextmanager
    def _store_errors(self) -> Iterator[None]:
        """Turn a Chroma server's outage into one clear error (the embedded store has none)."""
        try:
            yield
        except Exception as exc:
            if not self.chroma_url or not _is_connection_error(exc):
                raise
            self._vector_store = None  # reconnect on the next call
            raise StoreUnavailable(self.chroma_url, type(exc).__name__) from exc

    @property
    def vector_store(self) -> Any:
        if self._vector_store is None:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            with self._store_errors():
                chroma_dir = self.directory / "chroma"
                if not self.chroma_url and self.read_only:
                    chroma_dir = _scratch_copy(chroma_dir)
                self._store_generation = self.info().get("generation")
                try:
                    self._client = _chroma_client(chroma_dir, self.chroma_url)
                except Exception as exc:  # Chroma writes on open: a full disk must not stop readers
                    if self.chroma_url or self._writing or not _is_disk_full(exc):
                        raise
                    self._client = _chroma_client(_scratch_copy(chroma_dir), None)
                self._collection = self._client.get_or_create_collection(COLLECTION, metadata={"hnsw:space": "cosine"})
            self._vector_store = ChromaVectorStore(chroma_collection=self._collection)
        return self._vector_store

    def _follow_writers(self) -> None:
        """Reopen the embedded Chroma store when another process committed since it was opened:
        Chroma keeps its vector index in memory and never sees another process's additions.
        Closing releases this process's share; the store is reloaded from disk only when no other
        client in the process (e.g. the page's own ingest, which is current) still holds it."""
        if self._client is None or self.chroma_url or self.info().get("generation") == self._store_generation:
            return
        client, self._client, self._vector_store, self._collection = self._client, None, None, None
        with contextlib.suppress(Exception):  # an older chromadb without close(): the next open reuses it
            client.close()

    def dense_query(self, vector: list[float], top_k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the `top_k` chunks nearest to `vector`, nearest first.

        Asks the Chroma collection for ids and distances only: llama-index's vector store query also
        fetches every hit's metadata and rebuilds a node from its JSON, which the store of record
        makes redundant (5.7 against 2.2 ms a query at 36k chunks, idle).

        Raises:
            StoreUnavailable: the Chroma server does not answer.
        """
        with self._store_lock, self._store_errors():  # one query at a time while the store may be reopened
            self._follow_writers()
            kwargs = {"where": where} if where else {}
            found = self.collection.query(query_embeddings=[vector], n_results=top_k, include=["distances"], **kwargs)
        # the collection is in cosine space: distance = 1 - cosine
        return [(chunk_id, 1.0 - float(distance)) for chunk_id, distance in zip(found["ids"][0], found["distances"][0])]

    @property
    def collection(self) -> Any:
        _ = self.vector_store
        return self._collection

    # ---- writing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, wait_seconds: float = 0.0) -> Iterator[Index]:
        """Hold the single-writer lock; Chroma is not safe for several writer processes.

        Raises:
            IndexBusy: another process holds the lock for longer than `wait_seconds`.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "write.lock", "w") as lock:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(str(self.directory)) from None
                    time.sleep(0.2)
            try:
                self._writing = True
                with self._store_errors():
                    self._repair()
                    yield self
            except Exception as exc:
                if _is_disk_full(exc):
                    raise StorageFull(str(self.directory), str(exc).splitlines()[0][:120]) from exc
                raise
            finally:
                self._writing = False
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _repair(self) -> None:
        """Drop Chroma ids the store does not know (a crash between the two writes), forget articles
        whose vectors were lost, bring BM25 up to the store. Equal counts skip the id comparison,
        which reads every id: one crash leaves Chroma with extra ids or missing ones, not both."""
        if self.collection.count() == self.db.execute("select count(*) from chunks").fetchone()[0]:
            self.sync_bm25()
            return
        known = {row[0] for row in self.db.execute("select id from chunks")}
        stored = set(self.collection.get(include=[])["ids"])
        extra = sorted(stored - known)
        if extra:
            self.vector_store.delete_nodes(extra)
        missing = {chunk_id.rsplit(":", 1)[0] for chunk_id in known - stored}
        if missing:  # vectors lost: forget those articles so the next ingest adds them again
            with self.db:
                lost = [row[0] for a in missing for row in self.db.execute("select id from chunks where article_id = ?", (a,))]
                self._log(lost, -1)
                self.db.executemany("delete from chunks where article_id = ?", [(a,) for a in missing])
                self.db.executemany("delete from articles where id = ?", [(a,) for a in missing])
        self.sync_bm25()

    def article_hashes(self) -> dict[str, str]:
        """{article id: content hash} of everything stored."""
        return {row[0]: row[1] for row in self.db.execute("select id, hash from articles")}

    def article_sources(self) -> dict[str, tuple[str, str | None]]:
        """{article id: (file name, source key)}; the key is None for articles stored before
        ids were scoped by source."""
        rows = self.db.execute("select id, source, json_extract(meta, '$.source_key') from articles")
        return {row[0]: (row[1], row[2]) for row in rows}

    def update_meta(self, articles: list[Article]) -> None:
        """Store new metadata (and hash) of articles whose title, date, source and text are unchanged:
        nothing is embedded again. Call inside `writing()`."""
        with self.db:
            self.db.executemany("update articles set meta = ?, hash = ? where id = ?",
                                [(json.dumps(a.meta, ensure_ascii=False), a.content_hash, a.id) for a in articles])
            self._bump_generation()

    def put_articles(
        self, items: list[tuple[Article, list[Chunk], list[list[str]]]], vectors: np.ndarray
    ) -> None:
        """Add or replace articles with their chunks, BM25 tokens and one vector per chunk.

        Call inside `writing()`, then `sync_bm25()` once the batch is done.
        """
        from llama_index.core.schema import TextNode

        ids = [a.id for a, _, _ in items]
        old = [row[0] for row in self.db.execute(f"select id from chunks where article_id in ({','.join('?' * len(ids))})", ids)]
        if old:
            self.vector_store.delete_nodes(old)
        nodes = []
        row = 0
        for article, chunks, _tokens in items:
            for chunk in chunks:
                metadata = {"article_id": article.id, "title": article.title, "date": article.date or "",
                            "date_num": date_number(article.date), "source": article.source,
                            "n": chunk.n, "start": chunk.start, "end": chunk.end}
                # no text: the article store is the one record of it (rag/retrieve.py reads nodes from there)
                node = TextNode(id_=chunk.id, text="", metadata=metadata, embedding=vectors[row].tolist())
                nodes.append(node)
                row += 1
        if nodes:
            self.vector_store.add(nodes)
        now = time.time()
        with self.db:
            self._log(old, -1)
            self._log([c.id for _, chunks, _ in items for c in chunks], +1)
            self.db.executemany("delete from chunks where article_id = ?", [(i,) for i in ids])
            self.db.executemany(
                "insert or replace into articles values (?, ?, ?, ?, ?, ?, ?, ?)",
                [(a.id, a.title, a.date, a.source, a.text, a.content_hash, json.dumps(a.meta, ensure_ascii=False), now)
                 for a, _, _ in items],
            )
            self.db.executemany(
                "insert into chunks values (?, ?, ?, ?, ?, ?, ?)",
                [(c.id, c.article_id, c.n, c.start, c.end, c.paragraph, " ".join(t))
                 for _, chunks, tokens in items for c, t in zip(chunks, tokens)],
            )
            self._bump_generation()

    def delete_article(self, article_id: str) -> bool:
        """Remove one article everywhere; call inside `writing()`, then `sync_bm25()`."""
        return bool(self.delete_articles([article_id]))

    def delete_articles(self, article_ids: list[str]) -> int:
        """Remove articles everywhere, Chroma first, then one SQLite transaction; returns how many
        the store held. Call inside `writing()`, then `sync_bm25()`."""
        if not article_ids:
            return 0
        pairs = [(i,) for i in article_ids]
        old = [row[0] for a in article_ids for row in self.db.execute("select id from chunks where article_id = ?", (a,))]
        for start in range(0, len(old), 1000):  # Chroma caps a request's size
            self.vector_store.delete_nodes(old[start : start + 1000])
        with self.db:
            self._log(old, -1)
            gone = sum(self.db.execute("delete from articles where id = ?", p).rowcount for p in pairs)
            self.db.executemany("delete from chunks where article_id = ?", pairs)
            self._bump_generation()
        return gone

    def _log(self, chunk_ids: list[str], op: int) -> None:
        self.db.executemany("insert into bm25_log (chunk_id, op) values (?, ?)", [(i, op) for i in chunk_ids])

    def _bump_generation(self) -> None:
        self.db.execute("insert or replace into info values ('generation', ?)", (f"{time.time_ns()}",))

    # ---- BM25 ---------------------------------------------------------------------------------
    def _applied(self) -> tuple[str, int]:
        """(the store's generation, the last bm25_log seq): what BM25 is brought up to."""
        seq = self.db.execute("select coalesce(max(seq), 0) from bm25_log").fetchone()[0]
        return self.info().get("generation", ""), int(seq)

    def _done_with_log(self, seq: int) -> None:
        with self.db:
            self.db.execute("delete from bm25_log where seq <= ?", (seq,))

    def rebuild_bm25(self, batch_rows: int = 20_000) -> None:
        """Rebuild BM25 from the stored tokens (no re-tokenising), `batch_rows` chunks in Python at a time."""
        generation, seq = self._applied()

        def batches() -> Iterator[list[tuple[str, str]]]:
            cursor = self.db.execute("select id, tokens from chunks order by article_id, n")
            while rows := cursor.fetchmany(batch_rows):
                yield [(row[0], row[1]) for row in rows]

        self._bm25.rebuild(batches(), generation, seq)
        self._done_with_log(seq)

    def sync_bm25(self) -> None:
        """Bring BM25 up to the article store: apply the chunk log since the last sync as one delta
        segment and tombstones (a full rebuild only for an index without a manifest). Call inside
        `writing()` after a batch of writes."""
        manifest = self._bm25.manifest()
        if manifest is None:
            self.rebuild_bm25()
            return
        generation, seq = self._applied()
        log = self.db.execute("select chunk_id, op from bm25_log where seq > ? order by seq", (manifest["applied_seq"],))
        added: dict[str, None] = {}  # insertion-ordered set
        deleted: set[str] = set()
        for chunk_id, op in log:
            if op > 0:
                added[chunk_id] = None
            elif chunk_id in added:
                del added[chunk_id]  # added and removed since the last sync: never reached BM25
            else:
                deleted.add(chunk_id)
        if added or deleted or manifest["generation"] != generation:
            self._bm25.apply(self._tokens_of(list(added)), deleted, generation, seq)
        self._done_with_log(seq)

    def _tokens_of(self, chunk_ids: list[str]) -> Iterator[tuple[str, str]]:
        """(chunk id, tokens) of `chunk_ids` that the store holds, in that order, read 500 at a time:
        a whole run's tokens are never in memory at once (BM25 builds its delta from them in batches)."""
        for start in range(0, len(chunk_ids), 500):
            part = chunk_ids[start : start + 500]
            found = dict(self.db.execute(f"select id, tokens from chunks where id in ({','.join('?' * len(part))})", part))
            yield from ((i, found[i]) for i in part if i in found)

    def compact(self, wait_seconds: float = 0.0) -> dict[str, int]:
        """Merge BM25's delta segments and tombstones into one segment (from arrays, no text read),
        under the writer lock; do not call inside `writing()`. Returns segments before and after.

        Raises:
            IndexBusy: another process writes to the index.
        """
        with self.writing(wait_seconds):
            before = len((self._bm25.manifest() or {"segments": []})["segments"])
            self._bm25.compact(*self._applied())
        return {"segments_before": before, "segments_after": 1}

    def bm25(self) -> tuple[Any, list[str]]:
        """(BM25 scorer or None when empty, chunk ids in its row order); follows the manifest, so a
        reader picks up a writer's new segments before its next query. The scorer has
        `get_scores(tokens, weight_mask)`, `doc_freq(token)` and `num_docs`."""
        return self._bm25.load()

    # ---- reading ------------------------------------------------------------------------------
    def list_articles(self) -> list[StoredArticle]:
        """Every article, newest date first, with its chunk count."""
        rows = self.db.execute(
            "select a.*, (select count(*) from chunks c where c.article_id = a.id) as n_chunks "
            "from articles a order by coalesce(a.date, '') desc, a.source, a.rowid"
        ).fetchall()
        return [StoredArticle(_row_to_article(r), r["n_chunks"], r["added_at"]) for r in rows]

    def record_ids(self) -> dict[str, list[str]]:
        """{JSONL record id: ids of the articles made from records with it (one per archive)}: how a
        gold id of an eval set, which names a record, finds its articles."""
        result: dict[str, list[str]] = {}
        rows = self.db.execute("select json_extract(meta, '$.record_id') as record, id from articles where record is not null")
        for row in rows:
            result.setdefault(str(row[0]), []).append(row[1])
        return result

    def get_article(self, article_id: str) -> Article | None:
        row = self.db.execute("select * from articles where id = ?", (article_id,)).fetchone()
        return _row_to_article(row) if row else None

    def chunks_of(self, article_id: str) -> list[Chunk]:
        rows = self.db.execute(
            'select article_id, n, start, "end", paragraph from chunks where article_id = ? order by n', (article_id,)
        ).fetchall()
        article = self.get_article(article_id)
        text = article.text if article else ""
        return [Chunk(r[0], r[1], text[r[2] : r[3]], r[2], r[3], r[4]) for r in rows]

    def chunk_rows(self, chunk_ids: list[str]) -> dict[str, dict[str, Any]]:
        """{chunk id: its offsets, text and article fields} for the ids that exist."""
        if not chunk_ids:
            return {}
        rows = self.db.execute(
            'select c.id, c.article_id, c.n, c.start, c."end", c.paragraph, a.title, a.date, a.source, '
            'substr(a.text, c.start + 1, c."end" - c.start) as text '
            f"from chunks c join articles a on a.id = c.article_id where c.id in ({','.join('?' * len(chunk_ids))})",
            chunk_ids,
        ).fetchall()
        return {row["id"]: dict(row) for row in rows}

    def chunk_dates_and_sources(self, chunk_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(date numbers, sources) aligned to `chunk_ids` (the BM25 order); cached per generation."""
        import numpy as np

        key = (self.info().get("generation"), len(chunk_ids))
        if self._filter_cache_key != key:
            rows = dict(
                (row[0], (date_number(row[1]), row[2]))
                for row in self.db.execute("select c.id, a.date, a.source from chunks c join articles a on a.id = c.article_id")
            )
            pairs = [rows.get(chunk_id, (0, "")) for chunk_id in chunk_ids]
            self._filter_cache = (np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs], dtype=object))
            self._filter_cache_key = key
        return self._filter_cache

    def counts(self) -> dict[str, Any]:
        """Articles, chunks, sources and the date range, for `list` and the archive tab."""
        row = self.db.execute(
            "select count(*), count(distinct coalesce(json_extract(meta, '$.source_key'), source)), min(date), max(date) "
            "from articles"
        ).fetchone()
        chunks = self.db.execute("select count(*) from chunks").fetchone()[0]
        return {"articles": row[0], "sources": row[1], "chunks": chunks, "first_date": row[2], "last_date": row[3]}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

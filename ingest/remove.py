"""remove(): take a source or one article out of the index (article store, Chroma, BM25)."""

from __future__ import annotations

from pathlib import Path

from ingest.articles import Article
from ingest.errors import RemoveError
from ingest.index import Index


def remove(target: str, index_dir: Path, chroma_url: str | None = None, wait_seconds: float = 0.0) -> list[Article]:
    """Take a source or one article out of the index (article store, Chroma, BM25) under the writer lock.

    `target` is an article id, else a source key (what `meta["source_key"]` holds), else a path
    (resolved), else a file name that names exactly one source. Returns the removed articles.

    Example:
        >>> [a.title for a in remove("issues/2020-11-17.txt", Path("data/index"))]

    Raises:
        FileNotFoundError: no index at `index_dir`.
        RemoveError: nothing matches `target`, or its file name names several sources.
        IndexBusy: another process writes to the index.
    """
    index = Index.open(index_dir, chroma_url)
    try:
        with index.writing(wait_seconds):
            ids = _matching(target, index.article_sources())
            removed = [article for article in map(index.get_article, ids) if article is not None]
            index.delete_articles(ids)
            index.sync_bm25()
    finally:
        index.close()
    return removed


def _matching(target: str, sources: dict[str, tuple[str, str | None]]) -> list[str]:
    """The stored article ids `target` names (see `remove`)."""
    if target in sources:
        return [target]
    keys = {i: key or name for i, (name, key) in sources.items()}  # before source keys: the file name
    for wanted in (target, str(Path(target).expanduser().resolve())):
        ids = [i for i, key in keys.items() if key == wanted]
        if ids:
            return ids
    named = sorted({keys[i] for i, (name, _key) in sources.items() if name == target})
    if len(named) > 1:
        raise RemoveError(target, f"{len(named)} sources have this file name ({', '.join(named)}); give the one to remove")
    if not named:
        raise RemoveError(target, "no article id, source path or file name in the index matches it; "
                                  "`newsqa list` shows ids and file names")
    return [i for i, key in keys.items() if key == named[0]]

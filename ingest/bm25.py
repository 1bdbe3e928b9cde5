"""The BM25 side of the index: bm25s arrays over stored tokens, rebuilt whole and swapped by rename.

bm25s cannot add to an index, and rebuilding from tokens kept in the article store takes well under
a second per 10k chunks, so every write rebuilds. Files in `bm25/`: bm25s's own arrays, `ids.json`
(chunk ids in bm25s's row order) and `generation` (the article store's generation it was built
from; a reader compares it, a few bytes, before every query).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any


class Bm25Files:
    """The `bm25/` folder of an index directory; the loaded retriever is cached per generation."""

    def __init__(self, index_dir: Path) -> None:
        self.folder = index_dir / "bm25"
        self._retriever: Any = None
        self._ids: list[str] = []
        self._loaded: str | None = None

    def generation(self) -> str | None:
        """The generation on disk, None when there is no complete BM25 index."""
        path = self.folder / "generation"
        return path.read_text() if path.exists() else None

    def rebuild(self, rows: list[tuple[str, str]], generation: str) -> None:
        """Index (chunk id, space-joined tokens) rows; swap the new folder in by rename."""
        import bm25s

        staging = self.folder.with_name("bm25.new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if rows:
            retriever = bm25s.BM25()
            retriever.index([tokens.split(" ") if tokens else [""] for _, tokens in rows], show_progress=False)
            retriever.save(str(staging))
        (staging / "ids.json").write_text(json.dumps([chunk_id for chunk_id, _ in rows]))
        (staging / "generation").write_text(generation)  # written last: marks the folder complete
        old = self.folder.with_name("bm25.old")
        shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            self.folder.rename(old)
        staging.rename(self.folder)
        shutil.rmtree(old, ignore_errors=True)
        self._loaded = None

    def load(self) -> tuple[Any, list[str]]:
        """(bm25s retriever or None when empty, chunk ids in its row order), memory-mapped."""
        generation = self.generation()
        if generation != self._loaded:
            import bm25s

            ids = json.loads((self.folder / "ids.json").read_text()) if generation is not None else []
            self._retriever = bm25s.BM25.load(str(self.folder), mmap=True) if ids else None
            self._ids, self._loaded = ids, generation
        return self._retriever, self._ids

"""One BM25 segment: raw term frequencies of some chunks, immutable once written.

A segment stores what BM25 needs that does not depend on the rest of the corpus: per term (sorted,
so a lookup is a binary search and needs no dict) the rows holding it and their term frequencies,
in CSC order; per row its length and chunk id. IDF and the mean length are corpus-wide, so they are
computed at query time over all live segments (`ingest.bm25.Bm25View`), which keeps scores equal to
one index built over the whole corpus. Segments are built from token lists in batches, or merged
from other segments' arrays (dropping tombstoned rows) without re-reading any text.
"""

from __future__ import annotations

import bisect
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_ARRAYS = ("indptr", "rows", "tf", "lengths")


@dataclass
class Segment:
    """CSC arrays of one segment. `terms` is sorted; postings of `terms[j]` are
    `rows[indptr[j]:indptr[j+1]]` (ascending) with counts `tf[...]`."""

    terms: list[str]
    indptr: np.ndarray  # int64, len(terms) + 1
    rows: np.ndarray  # int32, row within the segment
    tf: np.ndarray  # uint16 (uint32 when a count needs it)
    lengths: np.ndarray  # int32, tokens per row
    ids: list[str]  # chunk id per row

    def __len__(self) -> int:
        return len(self.ids)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, tf) of `term`, or None when the segment does not hold it."""
        j = bisect.bisect_left(self.terms, term)
        if j == len(self.terms) or self.terms[j] != term:
            return None
        start, end = int(self.indptr[j]), int(self.indptr[j + 1])
        return self.rows[start:end], self.tf[start:end]


def _tf_dtype(max_count: int) -> type:
    return np.uint16 if max_count < 2**16 else np.uint32


def build(rows: Iterable[tuple[str, list[str]]]) -> Segment:
    """A segment from (chunk id, tokens) rows; an empty token list counts as the one token ""
    (as bm25s indexes an empty document)."""
    vocab: dict[str, int] = {}
    ids: list[str] = []
    lengths: list[int] = []
    flat: list[int] = []
    for chunk_id, tokens in rows:
        tokens = tokens or [""]
        ids.append(chunk_id)
        lengths.append(len(tokens))
        flat.extend([vocab.setdefault(t, len(vocab)) for t in tokens])
    terms = sorted(vocab)
    rank = np.empty(len(vocab), dtype=np.int64)
    rank[[vocab[t] for t in terms]] = np.arange(len(terms))
    term_of = rank[np.asarray(flat, dtype=np.int64)] if flat else np.zeros(0, dtype=np.int64)
    row_of = np.repeat(np.arange(len(ids), dtype=np.int64), lengths)
    keys, counts = np.unique(term_of * max(len(ids), 1) + row_of, return_counts=True)  # sorted by term, then row
    term_col = keys // max(len(ids), 1)
    indptr = np.zeros(len(terms) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(term_col, minlength=len(terms)))
    return Segment(terms, indptr, (keys % max(len(ids), 1)).astype(np.int32),
                   counts.astype(_tf_dtype(int(counts.max(initial=0)))), np.asarray(lengths, dtype=np.int32), ids)


def merge(parts: list[tuple[Segment, np.ndarray | None]]) -> Segment:
    """One segment holding the live rows of `parts` ((segment, alive mask or None)), in order.

    Works on the arrays only: no text or token list is read again; a term left only in dead rows
    is dropped, as a rebuild would never have seen it.
    """
    union = sorted(set().union(*(seg.terms for seg, _ in parts)))
    position = {t: i for i, t in enumerate(union)}
    plans = []
    df = np.zeros(len(union), dtype=np.int64)
    for seg, alive in parts:
        to_union = np.fromiter((position[t] for t in seg.terms), dtype=np.int64, count=len(seg.terms))
        col = np.repeat(np.arange(len(seg.terms), dtype=np.int32), np.diff(seg.indptr))
        keep = alive[seg.rows] if alive is not None else np.ones(len(seg.rows), dtype=bool)
        counts = np.bincount(col[keep], minlength=len(seg.terms))
        np.add.at(df, to_union, counts)
        plans.append((to_union, col, keep, counts))
    kept = df > 0
    new_col = np.cumsum(kept) - 1
    indptr = np.zeros(int(kept.sum()) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(df[kept])
    offset = indptr[:-1].copy()
    rows = np.empty(int(indptr[-1]), dtype=np.int32)
    tf = np.empty(int(indptr[-1]), dtype=np.result_type(*(seg.tf.dtype for seg, _ in parts)) if parts else np.uint16)
    base = 0
    for (seg, alive), (to_union, col, keep, counts) in zip(parts, plans):
        renumber = np.cumsum(alive) - 1 if alive is not None else np.arange(len(seg), dtype=np.int64)
        col_kept = col[keep]
        start = np.concatenate(([0], np.cumsum(counts)[:-1]))
        target = new_col[to_union]
        dest = offset[target[col_kept]] + (np.arange(len(col_kept)) - start[col_kept])
        rows[dest] = base + renumber[seg.rows[keep]]
        tf[dest] = seg.tf[keep]
        np.add.at(offset, target, counts)
        base += int(alive.sum()) if alive is not None else len(seg)
    lengths = np.concatenate([seg.lengths if a is None else seg.lengths[a] for seg, a in parts]) if parts else np.zeros(0, np.int32)
    ids = [i for seg, a in parts for i, live in zip(seg.ids, a if a is not None else [True] * len(seg)) if live]
    return Segment([t for t, k in zip(union, kept) if k], indptr, rows, tf, lengths.astype(np.int32), ids)


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def save(segment: Segment, folder: Path) -> None:
    """Write `segment` to `folder` (which must not exist yet) through a temporary name, so a
    folder with the final name is always complete."""
    staging = folder.with_name(folder.name + ".tmp")
    for leftover in (staging, folder):  # of a write that crashed before its manifest named it
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in _ARRAYS:
        with open(staging / f"{name}.npy", "wb") as handle:
            np.save(handle, getattr(segment, name))
            handle.flush()
            os.fsync(handle.fileno())
    _fsync_write(staging / "terms.json", json.dumps(segment.terms, ensure_ascii=False).encode())
    _fsync_write(staging / "ids.json", json.dumps(segment.ids).encode())
    staging.rename(folder)


def load(folder: Path) -> Segment:
    """A written segment, its arrays memory-mapped.

    Raises:
        FileNotFoundError: the folder is gone (a writer compacted it away after the caller read
            the manifest); read the manifest again.
    """
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
    terms = json.loads((folder / "terms.json").read_text())
    ids = json.loads((folder / "ids.json").read_text())
    return Segment(terms, arrays["indptr"], arrays["rows"], arrays["tf"], arrays["lengths"], ids)

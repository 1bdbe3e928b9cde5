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
import heapq
import itertools
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_ARRAYS = ("indptr", "rows", "tf", "lengths")
# postings placed per step of a merge: its int64 temporaries stay ~30 MB instead of ~40 bytes per posting
# (merging 5.5M postings: 231 -> 83 MB above what it started with, 40 MB of it the result)
MERGE_BLOCK = 1 << 19


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
    (as bm25s indexes an empty document). Each row's tokens are counted as it comes, so only its
    distinct terms are held (5,000 news chunks: 67 -> 39 MB at the peak)."""
    vocab: dict[str, int] = {}
    ids: list[str] = []
    lengths: list[int] = []
    terms_per_row: list[np.ndarray] = []
    tf_per_row: list[np.ndarray] = []
    for chunk_id, tokens in rows:
        counted = Counter(tokens or [""])
        ids.append(chunk_id)
        lengths.append(len(tokens) or 1)
        terms_per_row.append(np.fromiter([vocab.setdefault(t, len(vocab)) for t in counted], dtype=np.int32,
                                         count=len(counted)))
        tf_per_row.append(np.fromiter(counted.values(), dtype=np.int64, count=len(counted)))
    terms = sorted(vocab)
    rank = np.empty(len(vocab), dtype=np.int32)
    rank[[vocab[t] for t in terms]] = np.arange(len(terms), dtype=np.int32)
    term_of = rank[np.concatenate(terms_per_row)] if ids else np.zeros(0, dtype=np.int32)
    order = np.argsort(term_of, kind="stable")  # rows came in order: a stable sort keeps them ascending per term
    row_of = np.repeat(np.arange(len(ids), dtype=np.int32), [len(p) for p in terms_per_row])[order]
    tf = np.concatenate(tf_per_row)[order] if ids else np.zeros(0, dtype=np.int64)
    indptr = np.zeros(len(terms) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(term_of, minlength=len(terms)))
    return Segment(terms, indptr, row_of, tf.astype(_tf_dtype(int(tf.max(initial=0)))),
                   np.asarray(lengths, dtype=np.int32), ids)


def merge(parts: list[tuple[Segment, np.ndarray | None]], block: int = MERGE_BLOCK) -> Segment:
    """One segment holding the live rows of `parts` ((segment, alive mask or None)), in order.

    Works on the arrays only: no text or token list is read again; a term left only in dead rows
    is dropped, as a rebuild would never have seen it. Postings are placed `block` at a time.
    """
    union = [term for term, _ in itertools.groupby(heapq.merge(*(seg.terms for seg, _ in parts)))]
    plans = []
    df = np.zeros(len(union), dtype=np.int64)
    for seg, alive in parts:
        to_union = _positions(seg.terms, union)
        keep = alive[seg.rows] if alive is not None else None
        counts = np.diff(seg.indptr) if keep is None else _kept_per_term(seg, keep, block)
        df[to_union] += counts  # a segment's terms are distinct
        plans.append((to_union, keep, counts))
    kept = df > 0
    new_col = np.cumsum(kept) - 1
    indptr = np.zeros(int(kept.sum()) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(df[kept])
    offset = indptr[:-1].copy()  # where each term's next postings go
    rows = np.empty(int(indptr[-1]), dtype=np.int32)
    tf = np.empty(int(indptr[-1]), dtype=np.result_type(*(seg.tf.dtype for seg, _ in parts)) if parts else np.uint16)
    base = 0
    for (seg, alive), (to_union, keep, counts) in zip(parts, plans):
        renumber = np.cumsum(alive) - 1 if alive is not None else np.arange(len(seg), dtype=np.int64)
        start = np.concatenate(([0], np.cumsum(counts)[:-1]))  # of each term's kept postings in the part
        target = new_col[to_union]
        kept_before = 0
        for a in range(0, len(seg.rows), block):
            step = slice(a, a + block)
            live = keep[step] if keep is not None else slice(None)
            col = _columns(seg.indptr, step, len(seg.rows))[live]
            dest = offset[target[col]] + (np.arange(kept_before, kept_before + len(col)) - start[col])
            rows[dest] = base + renumber[seg.rows[step][live]]
            tf[dest] = seg.tf[step][live]
            kept_before += len(col)
        np.add.at(offset, target, counts)  # a term left only in dead rows shares its neighbour's target
        base += int(alive.sum()) if alive is not None else len(seg)
    lengths = np.concatenate([seg.lengths if a is None else seg.lengths[a] for seg, a in parts]) if parts else np.zeros(0, np.int32)
    ids = [i for seg, a in parts for i, live in zip(seg.ids, a if a is not None else [True] * len(seg)) if live]
    return Segment([t for t, k in zip(union, kept) if k], indptr, rows, tf, lengths.astype(np.int32), ids)


def _positions(terms: list[str], union: list[str]) -> np.ndarray:
    """Where each of `terms` (sorted, all in `union`) sits in `union` (sorted): a binary search from
    the last hit, where a dict over the union held ~20 MB per 366k terms."""
    found = []
    at = 0
    for term in terms:
        at = bisect.bisect_left(union, term, at)
        found.append(at)
    return np.asarray(found, dtype=np.int64)


def _columns(indptr: np.ndarray, step: slice, postings: int) -> np.ndarray:
    """The term of each posting in `step`."""
    return np.searchsorted(indptr, np.arange(step.start, min(step.stop, postings)), side="right") - 1


def _kept_per_term(seg: Segment, keep: np.ndarray, block: int) -> np.ndarray:
    counts = np.zeros(len(seg.terms), dtype=np.int64)
    for a in range(0, len(seg.rows), block):
        step = slice(a, a + block)
        counts += np.bincount(_columns(seg.indptr, step, len(seg.rows))[keep[step]], minlength=len(seg.terms))
    return counts


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

"""The BM25 side of the index: immutable segments plus tombstones, named by one manifest.

Files in `bm25/`:
    manifest.json   {"generation", "applied_seq", "next", "segments": [{"name", "dead"}]}; replaced by
                    rename, so a reader sees the old set or the new set, never a half (a crash between
                    two steps leaves the previous manifest, whose files are all still there)
    s000001/        a segment (bm25_segment.py): term frequencies, lengths, chunk ids; never changed
    dead-000007.npy the tombstoned rows of one segment (all of them, so one file per segment)

Adding chunks writes one small delta segment; removing chunks writes a tombstone file; neither
reads other segments' tokens. Scores are computed at query time with corpus-wide IDF and mean
length over the live rows of all segments, with bm25s's formula (lucene, k1=1.5, b=0.75) and
float types, so they equal those of one bm25s index built over the whole corpus. Deltas are merged
(from arrays, not text) when they grow past a bound, and on `compact`.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ingest import bm25_segment
from ingest.bm25_segment import Segment

K1, B = 1.5, 0.75  # bm25s's defaults, which the index was always built with
MAX_DELTAS = 8  # more deltas than this are merged into one
MERGE_SHARE = 0.25  # deltas (or dead rows) past this share of the main segment: merge everything
# rows split into token lists at once: the delta of a first 16k-story ingest (35,983 chunks) built in one
# piece took the process from 394 to 913 MB RSS, in batches to 761 MB (no model loaded; see also below)
BUILD_ROWS = 5_000
Part = tuple[Segment, "np.ndarray | None"]  # a segment and its alive mask (None: no dead rows)


class Bm25View:
    """The live rows of a set of segments, scored as one corpus."""

    def __init__(self, parts: list[Part]) -> None:
        self.parts = parts
        self.bases = np.cumsum([0] + [len(seg) for seg, _ in parts])
        self.num_docs = sum(len(seg) if alive is None else int(alive.sum()) for seg, alive in parts)
        total = sum(int(seg.lengths.sum() if alive is None else seg.lengths[alive].sum()) for seg, alive in parts)
        self.avgdl = total / self.num_docs if self.num_docs else 1.0
        masks = [alive for _, alive in parts]
        self.alive = None if all(m is None for m in masks) else np.concatenate(
            [np.ones(len(seg), dtype=bool) if m is None else m for (seg, _), m in zip(parts, masks)])
        self.ids = [i for seg, alive in parts for i, live in zip(seg.ids, alive if alive is not None else _true(len(seg))) if live]

    def _live_postings(self, token: str) -> list[tuple[int, np.ndarray, np.ndarray, Segment]]:
        found = []
        for n, (seg, alive) in enumerate(self.parts):
            hit = seg.postings(token)
            if hit is None:
                continue
            rows, tf = hit
            if alive is not None:
                keep = alive[rows]
                rows, tf = rows[keep], tf[keep]
            if len(rows):
                found.append((int(self.bases[n]), rows, tf, seg))
        return found

    def doc_freq(self, token: str) -> int:
        """Live rows holding `token`."""
        return sum(len(rows) for _, rows, _, _ in self._live_postings(token))

    def get_scores(self, tokens: list[str], weight_mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every live row (float32, in `ids` order); tokens the corpus lacks add nothing,
        a repeated token counts again, as in bm25s."""
        scores = np.zeros(int(self.bases[-1]), dtype=np.float32)
        for token in tokens:
            postings = self._live_postings(token)
            df = sum(len(rows) for _, rows, _, _ in postings)
            if not df:
                continue
            idf = np.float32(math.log(1 + (self.num_docs - df + 0.5) / (df + 0.5)))
            for base, rows, tf, seg in postings:
                tf64 = tf.astype(np.float64)
                tfc = tf64 / (K1 * ((1 - B) + B * seg.lengths[rows] / np.float64(self.avgdl)) + tf64)
                scores[base + rows] += (idf * tfc).astype(np.float32)
        if self.alive is not None:
            scores = scores[self.alive]
        if weight_mask is not None:
            scores *= weight_mask
        return scores


def _true(n: int) -> Iterator[bool]:
    return (True for _ in range(n))


class _LegacyBm25:
    """An index written before segments (one bm25s folder), read as it was until its next write."""

    def __init__(self, retriever: Any) -> None:
        self._retriever = retriever
        self.num_docs = int(retriever.scores["num_docs"])

    def get_scores(self, tokens: list[str], weight_mask: np.ndarray | None = None) -> np.ndarray:
        return self._retriever.get_scores(tokens, weight_mask=weight_mask)

    def doc_freq(self, token: str) -> int:
        slot = self._retriever.vocab_dict.get(token)
        indptr = self._retriever.scores["indptr"]
        return int(indptr[slot + 1] - indptr[slot]) if slot is not None else 0


class Bm25Files:
    """The `bm25/` folder of an index directory. Readers cache loaded segments by name (they never
    change), so a new delta costs a reader only that delta."""

    def __init__(self, index_dir: Path) -> None:
        self.folder = index_dir / "bm25"
        self._segments: dict[str, Segment] = {}
        self._dead: dict[str, np.ndarray] = {}
        self._view: Any = None
        self._loaded: str | None = None

    # ---- reading ------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any] | None:
        """The current manifest, None when there is none (a new index, or one written before segments)."""
        try:
            return json.loads((self.folder / "manifest.json").read_text())
        except FileNotFoundError:
            return None

    def generation(self) -> str | None:
        """The article store's generation BM25 was last brought up to, None when there is no manifest."""
        manifest = self.manifest()
        return manifest["generation"] if manifest else None

    def load(self) -> tuple[Any, list[str]]:
        """(scorer or None when empty, chunk ids of its rows); re-read when the manifest changed."""
        for _attempt in range(5):
            try:
                text = (self.folder / "manifest.json").read_text()
            except FileNotFoundError:
                return self._load_legacy()
            if text == self._loaded:
                break
            try:
                self._view = self._open(json.loads(text))
            except FileNotFoundError:  # compacted away after we read the manifest: read it again
                continue
            self._loaded = text
            break
        view = self._view
        return (view if view is not None and view.num_docs else None), (view.ids if view is not None else [])

    def parts(self, manifest: dict[str, Any]) -> list[Part]:
        """The segments a manifest names, with their alive masks, loaded (or from the cache)."""
        parts = []
        for entry in manifest["segments"]:
            segment = self._segments.get(entry["name"]) or bm25_segment.load(self.folder / entry["name"])
            self._segments[entry["name"]] = segment
            alive = None
            if entry.get("dead"):
                if entry["dead"] not in self._dead:
                    self._dead[entry["dead"]] = np.load(self.folder / entry["dead"])
                alive = np.ones(len(segment), dtype=bool)
                alive[self._dead[entry["dead"]]] = False
            parts.append((segment, alive))
        return parts

    def _open(self, manifest: dict[str, Any]) -> Bm25View:
        parts = self.parts(manifest)
        named = {entry["name"] for entry in manifest["segments"]}
        self._segments = {k: v for k, v in self._segments.items() if k in named}  # free compacted ones
        deads = {entry.get("dead") for entry in manifest["segments"]}
        self._dead = {k: v for k, v in self._dead.items() if k in deads}
        return Bm25View(parts)

    def _load_legacy(self) -> tuple[Any, list[str]]:
        if self._loaded != "legacy":
            ids_file = self.folder / "ids.json"
            ids = json.loads(ids_file.read_text()) if (self.folder / "generation").exists() else []
            if ids:
                import bm25s

                self._view = _LegacyBm25(bm25s.BM25.load(str(self.folder), mmap=True))
                self._view.ids = ids
            else:
                self._view = None
            self._loaded = "legacy"
        return (self._view, self._view.ids) if self._view is not None else (None, [])

    # ---- writing (under the index's writer lock) ----------------------------------------------
    def rebuild(self, batches: Iterable[list[tuple[str, str]]], generation: str, applied_seq: int) -> None:
        """Build one segment from (chunk id, space-joined tokens) batches, read one batch at a time,
        and make it the only one."""
        self.collect_garbage()
        merged = _build_in_batches(itertools.chain.from_iterable(batches))
        if merged is None:
            merged = bm25_segment.merge([])
        manifest = self.manifest() or {"next": 1}
        self._commit([(merged, None)], [], {"next": manifest["next"], "generation": generation, "applied_seq": applied_seq})

    def apply(self, adds: Iterable[tuple[str, str]], deletes: set[str], generation: str, applied_seq: int) -> None:
        """Add (chunk id, tokens) rows as a delta and tombstone the chunk ids in `deletes`; merge when
        the deltas passed their bound. Reads the chunk ids of segments only when there are deletions.
        `adds` is read `BUILD_ROWS` rows at a time (an iterator keeps a big run's tokens out of memory)."""
        self.collect_garbage()
        manifest = self.manifest()
        assert manifest is not None, "apply() needs a manifest: rebuild() first"
        entries = [dict(entry) for entry in manifest["segments"]]
        parts = self.parts(manifest)
        fresh: list[tuple[str, np.ndarray]] = []
        if deletes:
            for entry, (segment, alive) in zip(entries, parts):
                dead_rows = [n for n, chunk_id in enumerate(segment.ids) if chunk_id in deletes]
                if dead_rows:
                    old = self._dead.get(entry.get("dead") or "", np.zeros(0, dtype=np.int32))
                    entry["dead"] = f"dead-{manifest['next'] + len(fresh):06d}.npy"
                    fresh.append((entry["dead"], np.union1d(old, np.asarray(dead_rows, dtype=np.int32)).astype(np.int32)))
        meta = {"next": manifest["next"] + len(fresh), "generation": generation, "applied_seq": applied_seq}
        for name, rows in fresh:
            with open(self.folder / name, "wb") as handle:
                np.save(handle, rows)
                handle.flush()
                os.fsync(handle.fileno())
            self._dead[name] = rows
        delta = _build_in_batches(adds)
        new = [(delta, None)] if delta is not None else []
        self._commit_with_policy(entries, new, meta)

    def compact(self, generation: str, applied_seq: int) -> None:
        """Merge every segment into one, dropping tombstoned rows."""
        self.collect_garbage()
        manifest = self.manifest()
        if manifest is None:
            return
        parts = self.parts(manifest)
        merged = bm25_segment.merge(parts)
        self._commit([(merged, None)], [], {"next": manifest["next"], "generation": generation, "applied_seq": applied_seq})

    def _commit_with_policy(self, entries: list[dict[str, Any]], new: list[Part], meta: dict[str, Any]) -> None:
        """Write the new delta, merging deltas past MAX_DELTAS and everything past MERGE_SHARE."""
        parts = self.parts({"segments": entries})
        rows = [len(seg) if alive is None else int(alive.sum()) for seg, alive in parts + new]
        dead = sum(len(seg) for seg, _ in parts) - sum(rows[: len(parts)])
        main = rows[0] if rows else 0
        if len(new) == 1 and not any(rows[: len(parts)]):
            # nothing live before it (a first ingest): the delta is the whole index as it is; merging it
            # with the empty main copied its arrays once more (first ingest of 35,983 chunks: 761 -> 691 MB peak)
            self._commit(new, [], meta)
        elif rows and (sum(rows[1:]) > MERGE_SHARE * main or dead > MERGE_SHARE * main):
            self._commit([(bm25_segment.merge(parts + new), None)], [], meta)
        elif len(entries) - 1 + len(new) > MAX_DELTAS:
            deltas = bm25_segment.merge(parts[1:] + new)
            self._commit([(deltas, None)], entries[:1], meta)
        else:
            self._commit(new, entries, meta)

    def _commit(self, new: list[Part], keep: list[dict[str, Any]], meta: dict[str, Any]) -> None:
        """Save `new` segments, then swap in a manifest naming `keep` + them; the rename is the commit."""
        entries = list(keep)
        number = meta["next"]
        for segment, _ in new:
            name = f"s{number:06d}"
            bm25_segment.save(segment, self.folder / name)
            self._segments[name] = segment
            entries.append({"name": name, "dead": None})
            number += 1
        manifest = {**meta, "next": number, "segments": entries}
        self.write_manifest(manifest)
        self.collect_garbage()

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest by rename (atomic), after its new content is on disk."""
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = self.folder / "manifest.json.tmp"
        with open(staging, "w") as handle:
            handle.write(json.dumps(manifest))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, self.folder / "manifest.json")
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def collect_garbage(self) -> None:
        """Delete what the manifest does not name: merged-away segments, old tombstones, leftovers of
        a crashed write, the pre-segment bm25s files. A reader still holding one keeps its mapping."""
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = self.manifest()
        if manifest is None:
            return
        named = {"manifest.json"} | {e["name"] for e in manifest["segments"]} | {e["dead"] for e in manifest["segments"] if e.get("dead")}
        for path in self.folder.iterdir():
            if path.name not in named:
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def _build_in_batches(rows: Iterable[tuple[str, str]], batch_rows: int = BUILD_ROWS) -> Segment | None:
    """One segment from (chunk id, space-joined tokens) rows, `batch_rows` of them split at a time
    (None for no rows). Batch segments merge as they come while sizes stay geometric, so each row is
    merged O(log n) times and only the arrays of the rows so far are held, never their token lists."""
    built: list[Segment] = []
    source = iter(rows)
    while batch := list(itertools.islice(source, batch_rows)):
        built.append(bm25_segment.build((i, t.split(" ") if t else []) for i, t in batch))
        del batch
        while len(built) > 1 and len(built[-2]) <= 2 * len(built[-1]):
            built[-2:] = [bm25_segment.merge([(built[-2], None), (built[-1], None)])]
    if not built:
        return None
    return built[0] if len(built) == 1 else bm25_segment.merge([(seg, None) for seg in built])

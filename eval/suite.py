"""Every eval set of eval/data, dev and test, each against an index of the archive it is about.

A set names its archive in its header (`{"archive": "issues/"}`, relative to the set file, or
"news" for the national-news archive given by path). `run_all_sets` ingests each archive into an
index of its own under a work folder and keeps it, so the next run embeds only what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eval.run import EvalResult, Progress, evaluate
from eval.sets import DATA_DIR, SPLITS, EvalSet, load_set, set_files

if TYPE_CHECKING:
    from ingest.embed import Embedder
    from rag.engine import EngineConfig

# say(line): one line of what the suite is doing, for the user
Say = Callable[[str], None]
IngestProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SuiteSet:
    """One set's loaded halves (dev first) and the archive they are about."""

    name: str
    halves: tuple[EvalSet, ...]

    @property
    def archive(self) -> str | None:
        return next((half.archive for half in self.halves if half.archive), None)


def load_pair(path: Path) -> SuiteSet:
    """The set at `path` with its other half when it is NAME.dev.jsonl / NAME.test.jsonl and the
    sibling exists; an unsplit file alone.

    Raises:
        EvalSetError: a line of either file is not valid.
    """
    first = load_set(path)
    halves = [first]
    if first.split:
        other = path.with_name(f"{first.name}.{'test' if first.split == 'dev' else 'dev'}.jsonl")
        if other.is_file():
            halves.append(load_set(other))
    halves.sort(key=lambda half: SPLITS.index(half.split) if half.split in SPLITS else 0)
    return SuiteSet(first.name, tuple(halves))


def discover(data_dir: Path = DATA_DIR) -> list[SuiteSet]:
    """Every set in `data_dir`, by name, each with its dev and test halves."""
    return [load_pair(next(iter(files.values()))) for _, files in sorted(set_files(data_dir).items())]


def run_halves(engine_dir: Path, suite_set: SuiteSet, config: EngineConfig, embedder: Embedder | None,
               progress: Progress | None = None) -> list[EvalResult]:
    """Ask every half of `suite_set` against the index at `engine_dir`."""
    from rag.engine import Engine

    engine = Engine(engine_dir, config, embedder=embedder)
    try:
        return [evaluate(engine, half, progress) for half in suite_set.halves]
    finally:
        engine.index.close()


def archive_index(archive: str, work: Path, news: Path | None, embedder: Embedder,
                  progress: IngestProgress | None = None) -> Path:
    """The index of `archive` under `work`, ingested (incrementally) now.

    Raises:
        ValueError: the archive is "news" and no news path was given, the archive path is
            missing, or its files did not ingest.
    """
    from ingest.pipeline import ingest_paths

    if archive == "news":
        if news is None:
            raise ValueError("the news set needs --news PATH (e.g. ../shared/data/xwlb/xwlb_2023.jsonl)")
        source, name = news, f"news-{news.stem}"
    else:
        source, name = Path(archive), Path(archive).name
    if not source.exists():
        raise ValueError(f"the archive {source} does not exist")
    target = work / name
    report = ingest_paths([str(source)], target, progress=progress, embedder=embedder)
    if report.errors:
        raise ValueError(f"{report.errors[0]['path']}: {report.errors[0]['error']}")
    return target


def run_all_sets(work: Path, config: EngineConfig, news: Path | None = None, data_dir: Path = DATA_DIR,
                 say: Say = print, progress: Progress | None = None,
                 ingest_progress: IngestProgress | None = None) -> list[EvalResult]:
    """Every set of `data_dir` against its own archive's index; a set that cannot run (no
    archive named, or the news set without `news`) is skipped with a line through `say`."""
    from ingest.embed import load_embedder

    embedder = load_embedder()
    results: list[EvalResult] = []
    for suite_set in discover(data_dir):
        if suite_set.archive is None:
            say(f"{suite_set.name}: skipped (its header names no archive)")
            continue
        if suite_set.archive == "news" and news is None:
            say(f"{suite_set.name}: skipped (give --news PATH to build its index)")
            continue
        say(f"{suite_set.name}: indexing {suite_set.archive if suite_set.archive != 'news' else news}")
        index_dir = archive_index(suite_set.archive, work, news, embedder, ingest_progress)
        results += run_halves(index_dir, suite_set, config, embedder, progress)
    return results

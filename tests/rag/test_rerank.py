"""The optional reranker: a real sentence-transformers CrossEncoder (a tiny one made here, since no
model can be downloaded) reorders the scorer's best sentences, and a folder that holds no model is
refused by name."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from ingest.embed import Embedder
from rag.engine import Engine, EngineConfig
from rag.extractive import fact_candidates
from rag.rerank import RERANK_TOP, load_reranker
from rag.scorer import DEFAULT_MODEL
from tests.conftest import paper_index

REPORT = ("本报讯 3月14日，江州市春风行动大型招聘会在市人力资源市场举行。\n"
          "203家企业现场提供就业岗位5300余个，吸引8600余名求职者进场。\n"
          "副市长林雅琴宣布招聘会开幕，市人社局有关负责人参加活动。\n"
          "现场达成就业意向1270人，比去年增加300人。")


def _tiny_cross_encoder(folder: Path) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(REPORT + "春风行动招聘会在哪里举行？"))]
    (folder / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    record = {"id": "1", "title": "江州举办春风行动招聘会", "date": "2024-03-14", "content": REPORT}
    return paper_index(tmp_path_factory.mktemp("rerank"), [record], embedder)


def test_the_rerankers_best_sentence_is_the_one_quoted(index_dir: Path, embedder: Embedder, tmp_path: Path) -> None:
    folder = _tiny_cross_encoder(tmp_path / "reranker")
    # a scorer that always asserts: the test is about which sentence, not whether to answer
    model = json.loads(DEFAULT_MODEL.read_text(encoding="utf-8")) | {"answer_at": 0.0, "maybe_at": 0.0}
    (tmp_path / "always.json").write_text(json.dumps(model), encoding="utf-8")
    engine = Engine(index_dir, EngineConfig(scorer=tmp_path / "always.json", reranker=folder), embedder=embedder)
    question = "春风行动招聘会在哪里举行？"
    candidates, rows = fact_candidates(question, engine.read(question))
    top = np.argsort(-engine.scorer.probabilities(rows), kind="stable")[:RERANK_TOP]
    texts = [candidates[i][0].article.text[candidates[i][1] : candidates[i][2]] for i in top]
    scores = load_reranker(folder).predict([(question, text) for text in texts])
    assert len(set(scores.round(6))) > 1  # the tiny model does tell the sentences apart
    answer = engine.ask(question)
    assert not answer.no_answer and texts[int(np.argmax(scores))] in answer.answer


def test_a_folder_without_a_model_is_refused_by_name(index_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["ask", "招聘会有多少家企业到场？", "--index", str(index_dir),
                                       "--reranker", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "not a saved reranker" in result.output

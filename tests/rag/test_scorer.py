"""The learned sentence scorer: the packaged model fits this version's features, it prefers the
sentence that holds the asked fact, and the answerability decides between asserting, 可能相关 and
refusing."""

import json
from pathlib import Path

import numpy as np
import pytest

from ingest.embed import Embedder
from rag.engine import UNSURE, Engine, EngineConfig
from rag.extractive import fact_candidates
from rag.scorer import ANSWER_FEATURES, DEFAULT_MODEL, ScorerMismatch, SentenceScorer, load_scorer
from rag.sentence_features import FEATURES, OWN_FEATURES, STANDING, with_standing
from tests.conftest import paper_index

REPORT = ("本报讯 3月14日，江州市春风行动大型招聘会在市人力资源市场举行。\n"
          "203家企业现场提供就业岗位5300余个，吸引8600余名求职者进场。\n"
          "副市长林雅琴宣布招聘会开幕，市人社局有关负责人参加活动。")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    record = {"id": "1", "title": "江州举办春风行动招聘会", "date": "2024-03-14", "content": REPORT}
    return Engine(paper_index(tmp_path_factory.mktemp("scorer"), [record], embedder), embedder=embedder)


def test_the_packaged_model_computes_this_versions_features() -> None:
    data = json.loads(DEFAULT_MODEL.read_text(encoding="utf-8"))
    assert tuple(data["features"]) == FEATURES and tuple(data["answer_features"]) == ANSWER_FEATURES
    scorer = load_scorer()
    assert 0 < scorer.maybe_at <= scorer.answer_at < 1
    assert set(scorer.weights()) == set(FEATURES)
    assert "python -m eval.train_scorer" in data["command"]  # says how it was made


def test_a_model_file_for_other_features_is_refused_with_how_to_retrain(tmp_path: Path) -> None:
    data = json.loads(DEFAULT_MODEL.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    (tmp_path / "old.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ScorerMismatch, match="eval.train_scorer"):
        SentenceScorer.load(tmp_path / "old.json")


def test_the_sentence_holding_the_asked_fact_scores_highest(engine: Engine) -> None:
    scorer = load_scorer()
    for question, holds in (("招聘会有多少家企业到场？", "203家企业"), ("谁宣布招聘会开幕？", "林雅琴")):
        candidates, rows = fact_candidates(question, engine.read(question))
        probability = scorer.probabilities(rows)
        ctx, start, end = candidates[int(np.argmax(probability))]
        assert holds in ctx.article.text[start:end], question
        assert len(rows[0]) == len(FEATURES) and ((probability > 0) & (probability < 1)).all()


def test_middling_answerability_shows_the_best_sentences_as_possibly_related(engine: Engine, tmp_path: Path) -> None:
    data = json.loads(DEFAULT_MODEL.read_text(encoding="utf-8"))
    (tmp_path / "unsure.json").write_text(json.dumps(data | {"answer_at": 1.0, "maybe_at": 0.0}), encoding="utf-8")
    unsure = Engine(engine.index.directory, EngineConfig(scorer=tmp_path / "unsure.json"), embedder=engine.embedder)
    answer = unsure.ask("招聘会有多少家企业到场？")
    assert answer.no_answer and answer.answer.startswith(UNSURE)
    assert "203家企业" in answer.answer and answer.citations  # shown, labelled, not asserted
    sure = engine.ask("招聘会有多少家企业到场？")
    assert not sure.no_answer and "203家企业" in sure.answer


def test_each_hit_keeps_its_dense_and_bm25_scores_through_the_fusion(engine: Engine) -> None:
    hits = [hit for ctx in engine.read("招聘会有多少家企业到场？") for hit in ctx.hits]
    assert any(0 < hit.dense <= 1 for hit in hits)  # the cosine the fused reciprocal rank would lose
    assert max(hit.lexical for hit in hits) == 1.0  # BM25 as a share of the question's best chunk


def test_a_sentences_standing_is_measured_against_its_own_articles_best() -> None:
    own = len(OWN_FEATURES)
    rows = [[1.0] * own, [3.0] * own, [2.0] * own]
    extended = with_standing(rows, [0, 0, 1])
    assert [len(row) for row in extended] == [len(FEATURES)] * 3
    assert extended[0][own:] == [-2.0] * len(STANDING)  # below the 3.0 of its article's other sentence
    assert extended[1][own:] == [0.0] * len(STANDING) and extended[2][own:] == [0.0] * len(STANDING)  # each its article's best
    assert with_standing([], []) == []


def test_a_table_row_named_by_the_question_and_a_photo_credit_are_features(tmp_path: Path, embedder: Embedder) -> None:
    text = ("本报讯 7月20日，全市普降暴雨，平均降水量98.3毫米，最大降水出现在北山区石门镇。\n"
            "区县　降水量（毫米）　较常年同期\n城关区　86.4　偏多三成\n北山区　143.5　偏多近一倍\n"
            "7月20日，城关区消防救援人员转移被困群众。\n（本报记者　韩冬　摄）")
    record = {"id": "9", "title": "全市普降暴雨", "date": "2024-07-21", "content": text}
    engine = Engine(paper_index(tmp_path, [record], embedder), embedder=embedder)
    question = "北山区的降水量是多少毫米？"
    candidates, rows = fact_candidates(question, engine.read(question))
    by_text = {ctx.article.text[start:end].strip(): row for (ctx, start, end), row in zip(candidates, rows)}
    named, credit = FEATURES.index("table_row_named"), FEATURES.index("credit_line")
    assert by_text["北山区　降水量（毫米）：143.5　较常年同期：偏多近一倍"][named] == 1.0
    assert by_text["城关区　降水量（毫米）：86.4　较常年同期：偏多三成"][named] == 0.0  # a row the question does not name
    assert by_text["（本报记者　韩冬　摄）"][credit] == 1.0
    assert sum(row[credit] for row in rows) == 1.0

"""The training command, end to end on a small dev set of its own: it reads only dev halves, and the
model file it writes is one the engine loads and answers with."""

import json
from pathlib import Path

from ingest.embed import Embedder
from eval.train_scorer import main
from rag.engine import Engine, EngineConfig
from rag.scorer import SentenceScorer

ARTICLES = [
    ("春风行动招聘会举行", "3月14日，江州市春风行动招聘会在市人力资源市场举行。203家企业提供岗位5300余个。副市长林雅琴宣布开幕。"),
    ("第二水厂通水", "县城第二水厂正式通水。水厂总投资2.86亿元，设计日供水能力6万立方米，水源取自王家河水库。"),
    ("村BA总决赛落幕", "青石县首届村BA总决赛在县全民健身中心落幕。东关镇南庄村代表队以78比71夺得冠军。"),
    ("夜市消费火热", "5月份全市夜间消费额达7.8亿元，环比增长21.5%。鼓楼夜市人头攒动。"),
    ("春耕工作部署", "市农业农村局部署春耕。全市计划播种小麦120万亩，比上年增加3万亩。"),
]
QUESTIONS = [
    ("招聘会有多少家企业参加？", "春风行动招聘会举行", "203家"), ("谁宣布招聘会开幕？", "春风行动招聘会举行", "林雅琴"),
    ("第二水厂总投资多少？", "第二水厂通水", "2.86亿元"), ("第二水厂的水源取自哪里？", "第二水厂通水", "王家河水库"),
    ("村BA冠军是哪支队伍？", "村BA总决赛落幕", "南庄村"), ("决赛比分是多少？", "村BA总决赛落幕", "78比71"),
    ("5月份夜间消费额是多少？", "夜市消费火热", "7.8亿元"), ("夜间消费环比增长多少？", "夜市消费火热", "21.5%"),
    ("全市计划播种多少亩小麦？", "春耕工作部署", "120万亩"), ("小麦播种比上年增加多少？", "春耕工作部署", "3万亩"),
]
NOT_IN_ARCHIVE = ["第二水厂的厂长是谁？", "村BA决赛有多少观众？", "招聘会的主持人是谁？", "夜市有多少个摊位？"]


def test_training_writes_a_model_the_engine_answers_with(tmp_path: Path, embedder: Embedder) -> None:
    sets = tmp_path / "sets"
    (sets / "paper").mkdir(parents=True)
    records = [{"id": str(n), "title": title, "date": "2024-03-14", "content": text} for n, (title, text) in enumerate(ARTICLES)]
    (sets / "paper" / "paper.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    lines = [{"archive": "paper"}] + [{"qid": f"q{n}", "type": "fact", "question": q, "gold": gold, "key_points": [point]}
                                      for n, (q, gold, point) in enumerate(QUESTIONS)]
    lines += [{"qid": f"none{n}", "type": "no-answer", "question": q} for n, q in enumerate(NOT_IN_ARCHIVE)]
    (sets / "mine.dev.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    # a test half the training must never read: its answers would be wrong labels
    (sets / "mine.test.jsonl").write_text('{"archive": "paper"}\nnot json', encoding="utf-8")

    assert main(["--sets", str(sets), "--work", str(tmp_path / "work"), "--out", str(tmp_path / "model.json")]) == 0

    model = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert model["trained_on"] == {"mine": len(QUESTIONS) + len(NOT_IN_ARCHIVE)} and model["seed"] == 0
    assert 0 < model["withheld_negatives"] <= len(QUESTIONS)  # asked again without their gold article
    scorer = SentenceScorer.load(tmp_path / "model.json")
    assert 0 < scorer.maybe_at <= scorer.answer_at < 1
    engine = Engine(tmp_path / "work" / "paper", EngineConfig(scorer=tmp_path / "model.json"), embedder=embedder)
    answer = engine.ask("第二水厂的水源取自哪里？")
    assert "王家河水库" in answer.answer

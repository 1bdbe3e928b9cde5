"""The sample set is valid, and running it over a real index of samples/ gives well-formed results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from eval.report import previous_run, regressions, save_run, summary, write_report
from eval.run import EvalResult, evaluate_set, run_benchmark
from eval.sets import SAMPLE_SET, TYPES, EvalSetError, load_benchmark, load_set
from ingest.embed import Embedder
from ingest.index import Index
from rag.engine import Engine

QUESTION_KEYS = {"qid", "question", "type", "passed", "missed", "hit_rank", "latency_ms"}
METRIC_KEYS = {"hit@1", "hit@3", "hit@5", "mrr", "keypoint_recall", "list_completeness", "no_answer_precision",
               "no_answer_recall", "citation_validity", "latency_ms_p50", "latency_ms_p95"}


@pytest.fixture(scope="module")
def engine(sample_index: Path, embedder: Embedder) -> Engine:
    return Engine(sample_index, embedder=embedder)


@pytest.fixture(scope="module")
def result(engine: Engine) -> EvalResult:
    return evaluate_set(engine)


def test_sample_set_is_valid_and_covers_the_archive(sample_index: Path) -> None:
    eval_set = load_set()
    articles = {s.article.title: s.article for s in Index.open(sample_index).list_articles()}
    assert len(eval_set.questions) >= 40
    assert sum(1 for q in eval_set.questions if q.type == "no-answer") >= 5
    assert {q.type for q in eval_set.questions} == set(TYPES)
    assert set(articles) <= {title for q in eval_set.questions for title in q.gold_titles}
    assert eval_set.thresholds["hit@3"] == 0.95
    for q in eval_set.questions:
        assert all(title in articles for title in q.gold_titles), q.qid
        gold_text = "\n".join(articles[title].text for title in q.gold_titles)
        # key points are copied from the source: a typo would make a question unanswerable
        assert all(point in gold_text for point in q.key_points), q.qid
        assert q.expects_answer == bool(q.key_points), q.qid


def test_evaluate_set_shape_and_the_known_list_question(result: EvalResult) -> None:
    assert METRIC_KEYS <= set(result.metrics)
    assert all(0.0 <= result.metrics[name] <= 1.0 for name in METRIC_KEYS if not name.startswith("latency"))
    assert len(result.per_question) == len(load_set().questions)
    for row in result.per_question:
        assert QUESTION_KEYS <= set(row)
        assert isinstance(row["passed"], bool) and isinstance(row["missed"], list)
        assert row["passed"] == (not row["missed"])
    by_qid = {row["qid"]: row for row in result.per_question}
    wang = by_qid["meet-wang-3"]  # 王宏伟's 三点要求 一、二、三: every point, from the right article
    assert wang["passed"] and wang["hit_rank"] == 1 and wang["missed"] == []
    assert result.metrics["citation_validity"] == 1.0
    assert result.articles == 4


def test_evaluate_set_reports_progress(engine: Engine, tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(SAMPLE_SET.read_text(encoding="utf-8").splitlines()[:4]), encoding="utf-8")
    calls: list[tuple[int, int]] = []
    evaluate_set(engine, small, lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_runs_are_stored_and_regressions_named(result: EvalResult, tmp_path: Path) -> None:
    assert previous_run(tmp_path, result.set_name) is None
    stored = save_run(result, tmp_path)
    assert stored.parent == tmp_path / "eval_runs"
    assert previous_run(tmp_path, result.set_name)["metrics"] == result.metrics  # type: ignore[index]
    assert previous_run(tmp_path, "another-set") is None
    assert regressions(json.loads(stored.read_text(encoding="utf-8")), result) == []
    perfect: dict[str, Any] = result.as_json()
    perfect["questions"] = [dict(row, passed=True, missed=[], hit_rank=1) for row in perfect["questions"]]
    worse = regressions(perfect, result)
    failing = [row["qid"] for row in result.per_question if not row["passed"]]
    assert [w["qid"] for w in worse if "passed before, fails now" in w["reasons"]] == failing


def test_markdown_report_with_chart(result: EvalResult, tmp_path: Path) -> None:
    report = write_report(result, tmp_path / "out" / "sample.md", [], None)
    text = report.read_text(encoding="utf-8")
    assert "![metrics](sample.png)" in text and (tmp_path / "out" / "sample.png").stat().st_size > 1000
    assert "| meet-wang-3 | list | yes | 1 |" in text
    assert summary(result, [])[0].startswith(f"sample: {len(result.per_question)} questions")


@pytest.mark.parametrize(("line", "reason"), [
    ('{"question": "谁？", "type": "opinion", "gold": "x"}', "'type' must be one of"),
    ('{"question": "谁？", "type": "fact"}', "needs 'gold'"),
    ('{"question": "GDP？", "type": "no-answer", "key_points": ["1"]}', "no 'gold' and no 'key_points'"),
    ('{"question": "他呢？", "type": "follow-up", "gold": "x"}', "needs 'history'"),
    ('["not", "an", "object"]', "must be a JSON object"),
    ('{"question": "谁？", "type": "fact", "gold": "x", "since": "2023/11/15"}', "'since' must be YYYY-MM-DD"),
    ('{"question": "谁？", "type": "fact", "gold": "x", "qid": "a"}\n{"question": "谁？", "type": "fact", "gold": "y", "qid": "a"}',
     "repeated qid"),
])
def test_invalid_sets_are_refused_with_a_reason(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line, encoding="utf-8")
    with pytest.raises(EvalSetError, match=reason.replace("(", r"\(")):
        load_set(path)


def _tiny_cmrc(path: Path) -> Path:
    data = {"version": "v1.0", "data": [{"id": "D1", "title": "t", "paragraphs": [
        {"id": "P1", "context": "绛县位于山西省南部，隶属运城市，县城古绛镇有下高池村。",
         "qas": [{"id": "P1_Q0", "question": "绛县隶属哪个市？", "answers": [{"text": "运城市", "answer_start": 12}]}]},
        {"id": "P2", "context": "枫桥经验起源于浙江省诸暨市枫桥镇，核心是发动和依靠群众。",
         "qas": [{"id": "P2_Q0", "question": "枫桥经验起源于哪里？", "answers": [{"text": "浙江省诸暨市枫桥镇", "answer_start": 7}]}]},
    ]}]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_benchmark_loaders_read_both_layouts(tmp_path: Path) -> None:
    cmrc = load_benchmark("cmrc2018", _tiny_cmrc(tmp_path / "cmrc.json"), sample=1, seed=0)
    assert len(cmrc.eval_set.questions) == 1 and set(cmrc.passages) == set(cmrc.eval_set.questions[0].gold_ids)
    (tmp_path / "chronoqa_chunk_pool.jsonl").write_text(
        '{"chunk_id": "c1", "text": "2019年7月17日，苹果公司宣布停产iPhone 6系列。"}\n{"chunk_id": "c2", "text": "无关。"}\n',
        encoding="utf-8")
    (tmp_path / "chronoqa.jsonl").write_text(
        '{"qid": 7, "question": "苹果何时停产iPhone 6？", "answer": "2019年7月17日", "golden_chunk_ids": ["c1"]}\n',
        encoding="utf-8")
    chrono = load_benchmark("chronoqa", tmp_path / "chronoqa.jsonl")
    assert chrono.eval_set.questions[0].gold_ids == ("c1",) and set(chrono.passages) == {"c1", "c2"}
    with pytest.raises(ValueError, match="chronoqa, cmrc2018"):
        load_benchmark("squad", tmp_path / "cmrc.json")


def test_benchmark_runs_in_a_temporary_index(tmp_path: Path, embedder: Embedder) -> None:
    result = run_benchmark("cmrc2018", _tiny_cmrc(tmp_path / "cmrc.json"), embedder=embedder)
    assert result.set_name == "cmrc2018" and result.articles == 2
    assert result.metrics["retrieved_hit@1"] == 1.0
    assert {row["gold"][0] for row in result.per_question} == {"P1", "P2"}


def test_eval_command_exits_non_zero_below_a_threshold(sample_index: Path, tmp_path: Path) -> None:
    from cli import main

    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    lines = SAMPLE_SET.read_text(encoding="utf-8").splitlines()
    wang = next(line for line in lines if '"meet-wang-3"' in line)
    passing, failing = tmp_path / "pass.jsonl", tmp_path / "fail.jsonl"
    passing.write_text('{"thresholds": {"list_completeness": 1.0}}\n' + wang, encoding="utf-8")
    failing.write_text('{"thresholds": {"latency_ms_p50": 0.001}}\n' + wang, encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(main, ["eval", "--set", str(passing), "--index", str(index), "--json", str(tmp_path / "r.json"),
                              "--report", str(tmp_path / "r.md")])
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["metrics"]["list_completeness"] == 1.0
    bad = runner.invoke(main, ["eval", "--set", str(failing), "--index", str(index)])
    assert bad.exit_code == 1 and "below threshold: latency_ms_p50" in bad.output
    assert len(list((index / "eval_runs").glob("*.json"))) == 2


@pytest.mark.slow
def test_cmrc2018_sample_end_to_end(embedder: Embedder) -> None:
    data = Path(__file__).resolve().parents[3] / "shared" / "data" / "cmrc2018" / "cmrc2018_dev.json"
    if not data.exists():
        pytest.skip(f"needs {data}")
    result = run_benchmark("cmrc2018", data, sample=30, embedder=embedder)
    assert len(result.per_question) == 30 and result.index.startswith("temporary:")
    # the gold passage is among a few dozen: retrieval alone must find it
    assert result.metrics["retrieved_hit@5"] >= 0.9

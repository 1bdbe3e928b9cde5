"""The sample sets are valid, and running them over a real index of samples/ gives well-formed results."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from eval.report import drops, previous_run, regressions, save_run, suite_json, summary, table, write_report
from eval.run import EvalResult, evaluate_set, judge, run_benchmark, score
from eval.sets import SAMPLE_SET, TYPES, EvalQuestion, EvalSet, EvalSetError, load_benchmark, load_set
from eval.suite import discover
from eval.metrics import fold
from ingest.embed import Embedder
from ingest.index import Index
from rag.citations import Answer, Citation, Retrieved
from rag.engine import Engine

QUESTION_KEYS = {"qid", "question", "type", "tags", "outcome", "passed", "missed", "hit_rank", "retrieved_rank",
                 "latency_ms", "key_points_found", "key_points_supported"}
# what `newsqa eval --json` promises for every set and split
METRIC_KEYS = {"questions", "answered_correctly", "wrong_answer", "false_refusal", "refusal_precision", "refusal_recall",
               "retrieval_hit@5", "citation_support", "p50_ms"}


@pytest.fixture(scope="module")
def engine(sample_index: Path, embedder: Embedder) -> Engine:
    return Engine(sample_index, embedder=embedder)


@pytest.fixture(scope="module")
def result(engine: Engine) -> EvalResult:
    return evaluate_set(engine)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_sample_sets_are_valid_and_cover_the_archive(sample_index: Path, split: str) -> None:
    eval_set = load_set(SAMPLE_SET.with_name(f"sample.{split}.jsonl"))
    articles = {s.article.title: s.article for s in Index.open(sample_index).list_articles()}
    assert eval_set.split == split and eval_set.archive and Path(eval_set.archive).is_dir()
    assert len(eval_set.questions) >= 40
    assert sum(1 for q in eval_set.questions if q.type == "no-answer") >= 5
    assert {q.type for q in eval_set.questions} == set(TYPES)
    assert set(articles) <= {title for q in eval_set.questions for title in q.gold_titles}
    for q in eval_set.questions:
        assert all(title in articles for title in q.gold_titles), q.qid
        gold_text = fold("\n".join(articles[title].text for title in q.gold_titles))
        # key points are copied from the source: a typo would make a question unanswerable
        assert all(fold(point) in gold_text for point in q.key_points), q.qid
        assert q.expects_answer == bool(q.key_points), q.qid


def test_every_set_in_eval_data_loads_with_both_halves_and_an_archive() -> None:
    sets = {s.name: s for s in discover()}
    assert {"sample", "registers", "news"} <= set(sets)
    for suite_set in sets.values():
        assert [h.split for h in suite_set.halves] == ["dev", "test"], suite_set.name
        assert suite_set.archive, suite_set.name
        qids = [q.qid for half in suite_set.halves for q in half.questions]
        assert len(qids) == len(set(qids)), f"{suite_set.name}: a qid is in both halves"
    assert sum(1 for s in sets.values() for h in s.halves for q in h.questions if "near-miss" in q.tags) >= 40


def test_evaluate_set_shape_and_the_known_list_question(result: EvalResult) -> None:
    assert METRIC_KEYS <= set(result.metrics)
    shares = [v for k, v in result.metrics.items() if k not in ("questions", "p50_ms", "p95_ms") and v is not None]
    assert all(0.0 <= value <= 1.0 for value in shares)
    assert result.metrics["questions"] == len(result.per_question) == len(load_set().questions)
    assert result.split == "dev" and result.run_name == "sample.dev"
    answerable = [row for row in result.per_question if not row["expected_no_answer"]]
    by_outcome = {o: sum(1 for row in answerable if row["outcome"] == o) / len(answerable)
                  for o in ("correct", "wrong", "false_refusal")}
    assert result.metrics["answered_correctly"] == pytest.approx(by_outcome["correct"], abs=1e-4)
    assert sum(result.metrics[n] for n in ("answered_correctly", "wrong_answer", "false_refusal")) == pytest.approx(1.0)
    for row in result.per_question:
        assert QUESTION_KEYS <= set(row)
        assert isinstance(row["passed"], bool) and isinstance(row["missed"], list)
        assert row["passed"] == (not row["missed"])
    by_qid = {row["qid"]: row for row in result.per_question}
    wang = by_qid["meet-wang-3"]  # 王宏伟's 三点要求 一、二、三: every point, from the right article
    assert wang["outcome"] == "correct" and wang["hit_rank"] == 1 and wang["missed"] == []
    assert wang["key_points_found"] == wang["key_points_supported"] == 3
    assert result.metrics["citation_validity"] == 1.0
    assert result.articles == 4


def test_evaluate_set_reports_progress(engine: Engine, tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(SAMPLE_SET.read_text(encoding="utf-8").splitlines()[:4]), encoding="utf-8")
    calls: list[tuple[int, int]] = []
    evaluate_set(engine, small, lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_runs_are_stored_and_regressions_named(result: EvalResult, tmp_path: Path) -> None:
    assert previous_run(tmp_path, result.run_name) is None
    stored = save_run(result, tmp_path)
    assert stored.parent == tmp_path / "eval_runs"
    assert previous_run(tmp_path, result.run_name)["metrics"] == result.metrics  # type: ignore[index]
    assert previous_run(tmp_path, "sample.test") is None
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
    assert "| meet-wang-3 | list | correct | 1 |" in text
    failed = sum(1 for row in result.per_question if not row["passed"])
    assert summary(result, []) == [] if not failed else summary(result, [])[0].startswith("sample.dev: ")


def test_table_json_and_test_drops(result: EvalResult) -> None:
    test_half = replace(result, split="test")
    better = {"sample.test": {"metrics": dict(result.metrics, answered_correctly=(result.metrics["answered_correctly"] or 0) + 0.1,
                                              false_refusal=result.metrics["false_refusal"] - 0.1)}}
    lines = table([result, test_half], better)
    assert lines[0].split()[:3] == ["set", "split", "questions"] and len(lines) == 3
    assert lines[2].split()[:2] == ["sample", "test"] and "(-0.10)" in lines[2] and "(+0.10)" in lines[2]
    # a drop on the test half beyond the tolerance is named; the same drop on dev is not
    assert drops([result, test_half], better, 0.02) == [
        f"sample.test: answered_correctly {better['sample.test']['metrics']['answered_correctly']:.3f} -> "
        f"{result.metrics['answered_correctly']:.3f}",
        f"sample.test: false_refusal {result.metrics['false_refusal'] - 0.1:.3f} -> {result.metrics['false_refusal']:.3f}"]
    assert drops([result, test_half], better, 0.2) == []
    assert set(suite_json([result, test_half])["sets"]["sample"]) == {"dev", "test"}


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
    # the answer is in the gold passage verbatim, so it is a key point; qid 7 is odd: the test half
    assert chrono.eval_set.questions[0].key_points == ("2019年7月17日",)
    assert len(load_benchmark("chronoqa", tmp_path / "chronoqa.jsonl", split="test").eval_set.questions) == 1
    assert load_benchmark("chronoqa", tmp_path / "chronoqa.jsonl", split="dev").eval_set.questions == ()
    with pytest.raises(ValueError, match="chronoqa, cmrc2018"):
        load_benchmark("squad", tmp_path / "cmrc.json")


def test_benchmark_runs_in_a_temporary_index(tmp_path: Path, embedder: Embedder) -> None:
    [result] = run_benchmark("cmrc2018", _tiny_cmrc(tmp_path / "cmrc.json"), embedder=embedder, splits=(None,))
    assert result.set_name == "cmrc2018" and result.articles == 2
    assert result.metrics["retrieval_hit@1"] == 1.0
    assert len({row["gold"][0] for row in result.per_question}) == 2


def test_eval_command_exits_non_zero_below_a_threshold(sample_index: Path, tmp_path: Path) -> None:
    from cli import main

    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    lines = SAMPLE_SET.read_text(encoding="utf-8").splitlines()
    wang = next(line for line in lines if '"meet-wang-3"' in line)
    passing, failing = tmp_path / "pass.jsonl", tmp_path / "fail.jsonl"
    passing.write_text('{"thresholds": {"list_completeness": 1.0}}\n' + wang, encoding="utf-8")
    failing.write_text('{"thresholds": {"p50_ms": 0.001}}\n' + wang, encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(main, ["eval", "--set", str(passing), "--index", str(index), "--json", str(tmp_path / "r.json"),
                              "--report", str(tmp_path / "r.md")])
    assert ok.exit_code == 0, ok.output
    written = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert written["sets"]["pass"]["dev"]["answered_correctly"] == 1.0 and METRIC_KEYS <= set(written["sets"]["pass"]["dev"])
    assert written["runs"][0]["metrics"]["list_completeness"] == 1.0
    bad = runner.invoke(main, ["eval", "--set", str(failing), "--index", str(index)])
    assert bad.exit_code == 1 and "below threshold: p50_ms" in bad.output
    assert len(list((index / "eval_runs").glob("*.json"))) == 2


@pytest.mark.slow
def test_cmrc2018_sample_end_to_end(embedder: Embedder) -> None:
    data = Path(__file__).resolve().parents[3] / "shared" / "data" / "cmrc2018" / "cmrc2018_dev.json"
    if not data.exists():
        pytest.skip(f"needs {data}")
    dev, test = run_benchmark("cmrc2018", data.parent, sample=30, embedder=embedder)
    assert (dev.split, test.split) == ("dev", "test") and len(test.per_question) == 30
    assert test.index.startswith("temporary:")
    # the gold passage is among a few dozen: retrieval alone must find it
    assert test.metrics["retrieval_hit@5"] is not None and test.metrics["retrieval_hit@5"] >= 0.9


def _answer(text: str, no_answer: bool, quotes: list[str], article_id: str = "gold") -> Answer:
    citations = [Citation(n, article_id, "t", None, "s.txt", quote, (0, len(quote))) for n, quote in enumerate(quotes, 1)]
    return Answer("q", text, no_answer, citations, [Retrieved(article_id, f"{article_id}:0", "t", 1.0)])


def test_each_metric_fails_on_a_constructed_bad_answer() -> None:
    eval_set = EvalSet("bad", (
        EvalQuestion("refused", "谁主持会议？", "person-role", gold_ids=("gold",), key_points=("薛玉马",)),
        EvalQuestion("wrong", "谁主持会议？", "person-role", gold_ids=("gold",), key_points=("薛玉马",)),
        EvalQuestion("miscited", "谁主持会议？", "person-role", gold_ids=("gold",), key_points=("薛玉马",)),
        EvalQuestion("none", "县里GDP是多少？", "no-answer"),
    ))
    answers = {
        # refused, yet its closest passages cite the gold article and even quote the key point
        "refused": _answer("档案中没有找到…以下是最接近的段落：薛玉马主持会议[1]", True, ["薛玉马主持会议"]),
        "wrong": _answer("王宏伟主持会议[1]", False, ["王宏伟主持会议"]),
        "miscited": _answer("薛玉马主持会议[1]", False, ["王宏伟提出三点要求"]),
        "none": _answer("县里GDP是100亿元[1]", False, ["县里GDP是100亿元"], "other"),
    }
    gold = {q.qid: {"gold": 1} for q in eval_set.questions if q.expects_answer}
    rows = [judge(q, gold.get(q.qid, {}), answers[q.qid], 1.0, None, None) for q in eval_set.questions]
    assert [row["outcome"] for row in rows] == ["false_refusal", "wrong", "correct", "answered"]
    metrics = score(eval_set, rows, gold)
    assert metrics["answered_correctly"] == pytest.approx(1 / 3, abs=1e-4) and metrics["wrong_answer"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["false_refusal"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["refusal_precision"] == 0.0 and metrics["refusal_recall"] == 0.0
    # the refusal's cited gold article is no answer hit; retrieval still found it
    assert rows[0]["hit_rank"] is None and rows[0]["retrieved_rank"] == 1
    assert metrics["answer_hit@1"] == 1.0 and metrics["retrieval_hit@5"] == 1.0
    # the mis-cited key point is in the answer, but its citation quotes something else
    assert (rows[2]["key_points_found"], rows[2]["key_points_supported"]) == (1, 0) and not rows[2]["passed"]
    assert metrics["citation_support"] == 0.0

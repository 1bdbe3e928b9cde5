"""Metric functions on hand-written BEIR-shaped dicts and outcomes."""

from __future__ import annotations

import pytest

from eval.metrics import (
    answer_metrics, answer_outcome, below_thresholds, gold_rank, keypoint_metrics, latency_metrics, missed_key_points,
    percentile, retrieval_metrics, share_true, supported_key_points,
)

QRELS = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}, "q3": {"d": 1}, "q4": {"e": 1}}
RESULTS = {
    "q1": {"a": 0.9, "x": 0.5},  # rank 1
    "q2": {"x": 0.9, "y": 0.8, "c": 0.7, "b": 0.1},  # best gold (c) at rank 3
    "q3": {"x": 0.9, "y": 0.8, "z": 0.7, "w": 0.6, "v": 0.5, "d": 0.4},  # rank 6: past hit@5
    # q4 has no results at all: a miss, still counted
}


def test_gold_rank_takes_the_best_ranked_relevant_id() -> None:
    assert gold_rank({"b": 1, "c": 1}, RESULTS["q2"]) == 3
    assert gold_rank({"a": 1}, {}) is None
    assert gold_rank({"a": 0}, {"a": 1.0}) is None  # relevance 0 is not relevant


def test_retrieval_metrics_on_hand_written_results() -> None:
    metrics = retrieval_metrics(QRELS, RESULTS, (1, 3, 5))
    assert metrics["hit@1"] == pytest.approx(1 / 4)
    assert metrics["hit@3"] == pytest.approx(2 / 4)
    assert metrics["hit@5"] == pytest.approx(2 / 4)
    assert metrics["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 6 + 0) / 4)


def test_retrieval_metrics_ignore_results_without_qrels_and_handle_empty() -> None:
    assert retrieval_metrics({"q1": {"a": 1}}, {"q1": {"a": 1.0}, "other": {"z": 1.0}})["hit@1"] == 1.0
    assert retrieval_metrics({}, {}) == {"hit@1": 0.0, "hit@3": 0.0, "hit@5": 0.0, "mrr": 0.0}


def test_key_points_match_across_full_and_half_width_punctuation() -> None:
    answer = "自治是基础，法治是保证，德治是引领[1]"
    assert missed_key_points(["自治是基础,法治是保证", "发动和依靠群众"], answer) == ["发动和依靠群众"]
    assert missed_key_points(["11月15日"], "本报讯 １１月１５日 ,我县") == []


def test_keypoint_recall_is_the_mean_share_and_lists_need_every_point() -> None:
    key_points = {"l1": ["一要", "二要", "三要"], "l2": ["一是", "二是"], "f1": ["11月9日"], "none": []}
    answers = {"l1": "一要…二要…[1]", "l2": "一是…二是…[2]", "f1": "11月9日[1]"}
    metrics = keypoint_metrics(key_points, answers, {"l1", "l2"})
    assert metrics["keypoint_recall"] == pytest.approx((2 / 3 + 1 + 1) / 3)  # "none" has no points: not counted
    assert metrics["list_completeness"] == pytest.approx(1 / 2)
    assert keypoint_metrics({}, {}) == {"keypoint_recall": 1.0, "list_completeness": 1.0}


def test_outcomes_and_answer_metrics() -> None:
    assert [answer_outcome(True, False, 0), answer_outcome(True, False, 1), answer_outcome(True, True, 0)] == \
        ["correct", "wrong", "false_refusal"]
    assert [answer_outcome(False, True, 0), answer_outcome(False, False, 0)] == ["refused", "answered"]
    outcomes = {"a1": "correct", "a2": "wrong", "a3": "false_refusal", "a4": "correct",
                "n1": "refused", "n2": "answered"}
    metrics = answer_metrics(outcomes)
    assert metrics["answered_correctly"] == 0.5 and metrics["wrong_answer"] == 0.25 and metrics["false_refusal"] == 0.25
    # two refusals made (a3 wrongly, n1 rightly); two questions should be refused (n1 rightly, n2 answered)
    assert metrics["refusal_precision"] == 0.5 and metrics["refusal_recall"] == 0.5
    # nothing to measure is None, not a perfect 1.0
    assert answer_metrics({"a1": "correct"})["refusal_recall"] is None
    assert answer_metrics({"n1": "refused"})["answered_correctly"] is None


def test_citation_support_needs_the_citation_right_after_the_key_point() -> None:
    quotes = {1: "县长薛玉马主持会议。", 2: "王宏伟提出三点要求", 3: "11月15日,我县召开推进会"}
    assert supported_key_points("薛玉马主持会议[1]", quotes, ["薛玉马"]) == (1, 1)
    # mis-cited: [2] follows the key point but quotes something else
    assert supported_key_points("薛玉马主持会议[2]", quotes, ["薛玉马"]) == (0, 1)
    # a run of markers: any of them may hold it; text after the last marker is cited by nothing
    assert supported_key_points("会议于11月15日召开[2][3]", quotes, ["11月15日"]) == (1, 1)
    assert supported_key_points("会议召开[3]，11月15日", quotes, ["11月15日"]) == (0, 1)
    # key points not in the answer are not judged here (key-point recall counts them)
    assert supported_key_points("会议召开[1]", quotes, ["潘鹏"]) == (0, 0)
    # full-width/half-width folded
    assert supported_key_points("１１月１５日[3]", quotes, ["11月15日"]) == (1, 1)


def test_share_and_percentiles() -> None:
    assert share_true({"a": True, "b": False, "c": True, "d": True}) == 0.75
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([5.0], 95) == 5.0
    assert latency_metrics({str(i): float(i) for i in range(101)}) == {"p50_ms": 50.0, "p95_ms": 95.0}


def test_thresholds_name_each_miss_and_latency_is_an_upper_bound() -> None:
    metrics = {"hit@3": 0.9, "keypoint_recall": 0.95, "p95_ms": 900.0, "refusal_recall": None}
    failures = below_thresholds(metrics, {"hit@3": 0.95, "keypoint_recall": 0.9, "p95_ms": 500, "hit@4": 0.5,
                                          "refusal_recall": 1.0})
    assert failures[0].startswith("hit@3 = 0.900 < 0.95")
    assert failures[1].startswith("hit@4: not measured")
    assert failures[2] == "p95_ms = 900 > 500"
    assert failures[3].startswith("refusal_recall: not measured")
    assert len(failures) == 4
    assert below_thresholds(metrics, {}) == []

"""Metric functions on hand-written BEIR-shaped dicts and outcomes."""

from __future__ import annotations

import pytest

from eval.metrics import (
    below_thresholds, gold_rank, keypoint_metrics, latency_metrics, missed_key_points, percentile, refusal_metrics,
    retrieval_metrics, share_true,
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


def test_refusal_precision_and_recall() -> None:
    expected = {"n1": True, "n2": True, "a1": False, "a2": False}
    refused = {"n1": True, "n2": False, "a1": True, "a2": False}
    assert refusal_metrics(expected, refused) == {"no_answer_precision": 0.5, "no_answer_recall": 0.5}
    # no refusal made and none expected: nothing wrong either way
    assert refusal_metrics({"a1": False}, {"a1": False}) == {"no_answer_precision": 1.0, "no_answer_recall": 1.0}


def test_share_and_percentiles() -> None:
    assert share_true({"a": True, "b": False, "c": True, "d": True}) == 0.75
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([5.0], 95) == 5.0
    assert latency_metrics({str(i): float(i) for i in range(101)}) == {"latency_ms_p50": 50.0, "latency_ms_p95": 95.0}


def test_thresholds_name_each_miss_and_latency_is_an_upper_bound() -> None:
    metrics = {"hit@3": 0.9, "keypoint_recall": 0.95, "latency_ms_p95": 900.0}
    failures = below_thresholds(metrics, {"hit@3": 0.95, "keypoint_recall": 0.9, "latency_ms_p95": 500, "hit@4": 0.5})
    assert failures[0].startswith("hit@3 = 0.900 < 0.95")
    assert failures[1].startswith("hit@4: no such metric")
    assert failures[2] == "latency_ms_p95 = 900 > 500"
    assert len(failures) == 3
    assert below_thresholds(metrics, {}) == []

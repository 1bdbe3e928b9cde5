import json
from pathlib import Path
from typing import Any

import pytest

from rag.followup import condense, needs_history
from tests.conftest import ROOT

EVAL_DATA = ROOT / "eval" / "data"


def test_pronoun_takes_the_earlier_person() -> None:
    assert condense("他还强调了什么？", ["王宏伟提出了哪几点要求"]) == "王宏伟还强调了什么？"


def test_a_question_with_its_own_subject_stands() -> None:
    assert condense("樊彦龙检查了什么", ["王宏伟提出了哪几点要求"]) == "樊彦龙检查了什么"


def test_bare_follow_up_takes_the_earlier_topic() -> None:
    assert "孙晓" in condense("具体呢？", ["孙晓到横水镇调研了什么"])


def test_no_history_no_change() -> None:
    assert condense("他还强调了什么？", []) == "他还强调了什么？"


def test_ordinal_follow_up_keeps_the_earlier_list_question() -> None:
    assert condense("第二点是什么？", ["王宏伟提出了哪几点要求"]) == "王宏伟提出了哪几点要求，第二点是什么？"


@pytest.mark.parametrize("question", [
    "第二点是什么", "第三条呢", "那第三点呢", "其中第二点是什么", "第二个驻村工作队由谁带队",
    "他还强调了什么？", "她是哪天去的", "他们村有多少贫困户", "他在下高池村调研了什么",
    "这个会议在哪里开的", "这些措施是什么", "上面说的要求有几点",
])
def test_a_question_pointing_back_needs_history(question: str) -> None:
    assert needs_history(question)


@pytest.mark.parametrize("question", [
    "王宏伟提出了哪几点要求", "王宏伟说他要做什么", "还有其他要求吗", "第一书记是谁", "第四区受到影响是哪一年",
    "第三十一届世界大学生夏季运动会哪天开幕", "这次防汛Ⅳ级应急响应是哪天解除的？",
    "在茨柏克沃斯基担任开发经理期间，他做出了什么创作？",
])
def test_a_question_naming_its_own_subject_does_not(question: str) -> None:
    assert not needs_history(question)


def test_no_standalone_eval_question_needs_history() -> None:
    standalone = [q for path in sorted(EVAL_DATA.glob("*.jsonl")) for q in _questions(path) if not q.get("history")]
    assert len(standalone) > 700  # every set, both halves
    assert [q["question"] for q in standalone if needs_history(q["question"])] == []


def test_eval_follow_ups_with_pronouns_and_ordinals_are_caught() -> None:
    follow_ups = [q["question"] for path in sorted(EVAL_DATA.glob("*.jsonl")) for q in _questions(path) if q.get("history")]
    caught = [q for q in follow_ups if needs_history(q)]
    assert "第二点具体怎么做？" in caught and len(caught) >= len(follow_ups) // 4


def _questions(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if "question" in row]

from rag.followup import condense


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

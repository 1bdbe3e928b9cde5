"""The comparison check reads a verdict the way ChronoQA's answers are written."""

from eval.timeline_check import agrees
from rag.timeline import parse_comparison


def test_a_same_month_verdict_and_a_named_event_are_compared_with_the_datasets_answer() -> None:
    same = parse_comparison("英国脱欧协议生效和武汉解除离汉离鄂通道管控是在同一个月吗？")
    assert same is not None
    assert agrees(same, "不是同一个月。", "不是") and agrees(same, "是同一个月。", "是的")
    assert not agrees(same, "是同一个月。", "不是")
    first = parse_comparison("华兴源创夸大业务和电影《烈火英雄》诉讼哪个事件更早发生？")
    assert first is not None
    assert agrees(first, "最早发生的是华兴源创夸大业务。", "华兴源创夸大业务")
    assert not agrees(first, "最早发生的是电影《烈火英雄》诉讼。", "华兴源创夸大业务")
    order = parse_comparison("以下事件发生的时间顺序是怎样的：英国脱欧协议生效、武汉解除离汉离鄂通道管控？")
    assert order is not None and agrees(order, "按时间先后：…", "…") is None

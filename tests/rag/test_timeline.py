"""Questions comparing when events happened: the question's events are found apart, each dated
from its own sentence and cited, and the comparison is made on those dates."""

from pathlib import Path

import pytest

from ingest.articles import Article
from ingest.embed import Embedder
from rag.context import ArticleContext
from rag.engine import Engine
from rag.timeline import date_of, parse_comparison
from tests.conftest import paper_index

STORIES = [
    {"id": "a", "title": "青石县举办首届“村BA”总决赛", "date": "2023-08-20",
     "content": "本报讯 8月19日晚，青石县首届“村BA”篮球赛总决赛在县体育馆举行。东关镇南庄村代表队夺得冠军。"},
    {"id": "b", "title": "江州地铁2号线东延段开通", "date": "2024-03-15",
     "content": "本报讯 3月14日上午10时，江州地铁2号线东延段正式开通试运营，全长12.6公里，设站8座。"},
    {"id": "c", "title": "桐溪古镇冰雪文化节启幕", "date": "2024-01-07",
     "content": "2023年12月30日，桐溪古镇完成冰雪场地建设。1月6日，桐溪古镇第二届冰雪文化节启幕，游客观看打铁花表演。"},
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    return Engine(paper_index(tmp_path_factory.mktemp("timeline"), STORIES, embedder), embedder=embedder)


@pytest.mark.parametrize(("question", "events", "asks", "grain"), [
    ("以色列与哈马斯临时停火协议到期事件和爱泼斯坦的无罪辩称事件哪个最早发生？",
     ("以色列与哈马斯临时停火协议到期事件", "爱泼斯坦的无罪辩称事件"), "earliest", 3),
    ("中国国防部回应加拿大军机事件和思美传媒的调查都是在同一个月发生的吗？",
     ("中国国防部回应加拿大军机事件", "思美传媒的调查"), "same", 2),
    ("奔驰推出新车型、经纬天地递交招股书和习近平总书记考察北京和河北，是否都发生在同一天？",
     ("奔驰推出新车型", "经纬天地递交招股书", "习近平总书记考察北京和河北"), "same", 3),
    ("以下事件中，最早发生的是哪个：特朗普要求日本增加驻日美军经费，失联女童的父亲办理离婚手续？",
     ("特朗普要求日本增加驻日美军经费", "失联女童的父亲办理离婚手续"), "earliest", 3),
    ("我国发射'羲和号'卫星与美国决定从阿富汗撤军哪个事件先发生？",
     ("我国发射'羲和号'卫星", "美国决定从阿富汗撤军"), "earliest", 3),
    ("2020年中，海南省的确诊病例公告、青岛疫情情况公告及陈勇彬道歉声明中，哪个事件发生在最晚？",
     ("海南省的确诊病例公告", "青岛疫情情况公告", "陈勇彬道歉声明"), "latest", 3),
])
def test_the_events_and_what_is_asked_of_their_dates(question: str, events: tuple[str, ...], asks: str,
                                                     grain: int) -> None:
    comparison = parse_comparison(question)
    assert comparison is not None and comparison.events == events
    assert (comparison.asks, comparison.grain) == (asks, grain)


@pytest.mark.parametrize("question", ["王宏伟提出了哪几点要求", "和平路改造什么时候完工？", "招聘会最早几点开始？"])
def test_other_questions_are_no_comparison(question: str) -> None:
    assert parse_comparison(question) is None


def test_a_sentences_date_takes_missing_parts_from_the_text_before_it_and_the_issue() -> None:
    text = "2019年7月6日，爱泼斯坦被捕，涉及2002年至2005年的案件。7月8日，爱泼斯坦辩称自己无罪。9日上午，庭审继续。"
    ctx = ArticleContext(Article("x", "爱泼斯坦案", "2019-07-10", "t", text), 0, ())
    plea = text.index("7月8日")
    assert date_of(ctx, plea, plea + 15) == (2019, 7, 8)  # the year of the last full date, not 「2005年」
    assert date_of(ctx, 0, 10) == (2019, 7, 6)
    assert date_of(ctx, text.index("9日上午"), len(text)) == (2019, 7, 9)  # a report's day: the issue's month


def test_which_came_first_is_answered_from_each_events_dated_sentence(engine: Engine) -> None:
    answer = engine.ask("江州地铁2号线东延段开通和青石县“村BA”总决赛哪个更早发生？")
    assert not answer.no_answer
    assert answer.answer.startswith("最早发生的是青石县“村BA”总决赛")
    assert "2023年8月19日[" in answer.answer and "2024年3月14日[" in answer.answer
    quotes = {c.title: c.quote for c in answer.citations}
    assert "8月19日晚" in quotes["青石县举办首届“村BA”总决赛"] and "3月14日上午" in quotes["江州地铁2号线东延段开通"]


def test_same_month_and_a_year_from_the_issue_date(engine: Engine) -> None:
    answer = engine.ask("桐溪古镇冰雪文化节启幕和江州地铁2号线东延段开通是在同一个月吗？")
    assert answer.answer.startswith("不是同一个月") and "2024年1月6日[" in answer.answer
    same_year = engine.ask("桐溪古镇冰雪文化节启幕与江州地铁2号线东延段开通是同一年发生的吗？")
    assert same_year.answer.startswith("是同一年") and len(same_year.citations) == 2


def test_an_event_the_archive_does_not_hold_leaves_the_question_refused(engine: Engine) -> None:
    answer = engine.ask("江州地铁2号线东延段开通和杭州亚运会开幕哪个更早发生？")
    assert answer.no_answer and "最早发生" not in answer.answer


def test_an_issue_without_a_year_still_orders_its_own_days(sample_index: Path, embedder: Embedder) -> None:
    answer = Engine(sample_index, embedder=embedder).ask("王宏伟到下高池村调研和樊彦龙带队执法检查哪个更早发生？")
    assert answer.answer.startswith("最早发生的是樊彦龙带队执法检查")
    assert "11月16日[1]" in answer.answer and "11月9日[2]" in answer.answer  # no year is invented
    assert "11月16日" in answer.citations[0].quote and "11月9日" in answer.citations[1].quote  # the cited sentence dates it
    same_year = Engine(sample_index, embedder=embedder).ask("王宏伟到下高池村调研和樊彦龙带队执法检查是同一年吗？")
    assert not same_year.answer.startswith(("是同一年", "不是同一年"))  # the year is nowhere in the issue

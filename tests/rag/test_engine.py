"""Acceptance questions of the answer issue, on the real sample index."""

from pathlib import Path

import pytest

from ingest.embed import Embedder
from rag.citations import invalid_markers
from rag.engine import Engine
from rag.retrieve import SearchFilter

FIRST_TITLE = "全县脱贫工作成效考核推进会召开"


@pytest.fixture(scope="module")
def engine(sample_index: Path, embedder: Embedder) -> Engine:
    return Engine(sample_index, embedder=embedder)


def _assert_items_in_order(answer: str, items: list[str]) -> None:
    positions = [answer.find(item) for item in items]
    assert all(p >= 0 for p in positions), answer
    assert positions == sorted(positions), answer


def _assert_citations_valid(answer) -> None:  # noqa: ANN001
    assert not invalid_markers(answer.answer, answer.citations)
    for citation in answer.citations:
        assert citation.quote and citation.quote in citation.text


def test_three_requirements_each_cited(engine: Engine) -> None:
    answer = engine.ask("王宏伟提出了哪几点要求")
    assert not answer.no_answer
    items = ["扛起政治责任", "抓住关键环节", "强化组织领导"]
    _assert_items_in_order(answer.answer, items)
    for item in items:
        cited = [c for c in answer.citations if item in c.quote]
        assert cited and cited[0].title == FIRST_TITLE
        assert f"[{cited[0].n}]" in answer.answer
    _assert_citations_valid(answer)


def test_the_three_yao_items_each_cited(engine: Engine) -> None:
    answer = engine.ask("王宏伟要求迎检工作做到哪几个“要”")
    items = ["高位推动", "全面达标", "严肃问责"]
    _assert_items_in_order(answer.answer, items)
    assert all(any(item in c.quote for c in answer.citations) for item in items)
    _assert_citations_valid(answer)


def test_five_relations_across_one_long_paragraph(engine: Engine) -> None:
    answer = engine.ask("孙晓从哪五个关系方面作了要求")
    _assert_items_in_order(answer.answer, ["法治和综治", "党组织和综治中心", "管理和服务", "阵地和效果", "自治、法治、德治"])
    _assert_citations_valid(answer)


@pytest.mark.parametrize("question", ["绛县2020年的GDP是多少", "孙晓在横水镇调研了哪些企业", "北京冬奥会在哪一年举办"])
def test_questions_the_archive_cannot_answer_are_refused(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.no_answer
    assert answer.answer.startswith("档案中没有找到")
    _assert_citations_valid(answer)  # the closest passages are still shown, correctly cited


def test_who_question_gets_the_sentence_not_the_article(engine: Engine) -> None:
    answer = engine.ask("推进会由谁主持")
    assert "薛玉马主持会议" in answer.answer
    assert len(answer.answer) < 200
    _assert_citations_valid(answer)


def test_when_question_gets_the_date(engine: Engine) -> None:
    answer = engine.ask("王宏伟什么时候到下高池村调研")
    assert "11月16日" in answer.answer
    _assert_citations_valid(answer)


def test_follow_up_uses_the_earlier_question(engine: Engine) -> None:
    answer = engine.ask("他还强调了什么？", history=["王宏伟提出了哪几点要求"])
    assert answer.condensed_question and "王宏伟" in answer.condensed_question
    assert "王宏伟" in answer.answer
    _assert_citations_valid(answer)


def test_retrieved_is_best_first_and_json_has_the_documented_keys(engine: Engine) -> None:
    data = engine.ask("樊彦龙带领人大代表检查了什么").as_json()
    assert set(data) >= {"question", "answer", "no_answer", "citations", "retrieved", "mode", "timings_ms"}
    scores = [r["score"] for r in data["retrieved"]]
    assert scores == sorted(scores, reverse=True)
    assert data["retrieved"][0]["title"] == "县人大对我县《城乡规划法》实施情况进行执法检查"
    assert set(data["citations"][0]) >= {"n", "article_id", "title", "date", "source", "text", "span"}
    assert set(data["timings_ms"]) == {"retrieve", "answer", "total"}


def test_source_filter_keeps_other_sources_out(engine: Engine) -> None:
    answer = engine.ask("王宏伟提出了哪几点要求", filters=SearchFilter(source="other.jsonl"))
    assert answer.no_answer and not answer.retrieved


def test_stream_grows_to_the_final_answer(engine: Engine) -> None:
    parts = list(engine.stream("王宏伟提出了哪几点要求"))
    final = parts[-1]
    texts = parts[:-1]
    assert texts and all(isinstance(t, str) for t in texts)
    assert texts[-1] == final.answer and all(final.answer.startswith(t) for t in texts)


def test_ordinal_follow_up_answers_that_item_only(engine: Engine) -> None:
    answer = engine.ask("第二点是什么？", history=["王宏伟提出了哪几点要求"])
    assert "抓住关键环节" in answer.answer
    assert "扛起政治责任" not in answer.answer and "强化组织领导" not in answer.answer
    _assert_citations_valid(answer)

"""Answers that follow how papers are written: a list a pronoun introduces, an interview's replies."""

import pytest

from ingest.embed import Embedder
from rag.engine import Engine
from tests.conftest import paper_index

SPEECH = ("3月5日，全市安全生产工作会议召开。市委副书记李明出席会议并讲话，副市长赵刚主持会议。\n"
          "会上，赵刚通报了一季度安全生产情况。\n"
          "李明充分肯定了去年的工作。他强调，要做好三方面工作：一是压实企业主体责任；二是开展隐患排查整治；"
          "三是加强应急值守。")
INTERVIEW = ("老旧小区改造怎么改？记者采访了市住建局负责人。\n"
             "记者：停车难是老旧小区的“老大难”，怎么破解？\n"
             "答：一方面挖潜，利用边角地新增停车位，今年计划新增3600个；另一方面共享，推动周边单位的停车场在夜间错时开放。\n"
             "记者：市民对改造有意见建议，可以通过什么渠道反映？\n"
             "答：可以拨打改造服务热线，也可以向所在社区居委会反映。")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    records = [{"id": "1", "title": "全市安全生产工作会议召开", "date": "2023-03-05", "content": SPEECH},
               {"id": "2", "title": "老旧小区改造答记者问", "date": "2023-06-08", "content": INTERVIEW}]
    return Engine(paper_index(tmp_path_factory.mktemp("structure"), records, embedder), embedder=embedder)


def test_a_list_a_pronoun_introduces_is_the_last_named_speakers(engine: Engine) -> None:
    answer = engine.ask("李明提出了哪几点要求").answer
    assert [item in answer for item in ("压实企业主体责任", "开展隐患排查整治", "加强应急值守")] == [True] * 3


def test_an_interview_reply_answers_and_the_reporters_question_never_does(engine: Engine) -> None:
    parking = engine.ask("老旧小区停车难，打算从哪两方面破解？")
    assert "一方面挖潜" in parking.answer and "另一方面共享" in parking.answer
    assert "怎么破解" not in parking.answer  # the reporter's question holds every word asked, and no answer
    channels = engine.ask("市民对改造有意见建议，可以通过什么渠道反映？")
    assert not channels.no_answer and "服务热线" in channels.answer  # 渠道 is named in the question it replies to

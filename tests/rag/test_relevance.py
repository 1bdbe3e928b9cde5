"""What the refusal check counts as mentioned: short forms of organisations, and the article's own date."""

import json
from pathlib import Path

from ingest.articles import Article
from ingest.embed import Embedder
from ingest.pipeline import ingest_paths
from rag.engine import Engine
from rag.relevance import article_scope, dated, missing_specific, question_terms

FULL_NAME = "云溪市人民代表大会常务委员会第十次会议15日召开，会议审议通过了《云溪市城市绿化条例》。"


def test_a_short_form_is_found_by_its_characters_but_a_name_is_not() -> None:
    assert missing_specific(question_terms("人大常委会审议通过了什么条例"), FULL_NAME) == []
    assert missing_specific(question_terms("王小明去了哪里"), "王先生和小明去了公园。") == ["王小明"]


def test_a_year_only_the_issue_date_gives_counts_as_mentioned() -> None:
    text = "全市今年新增绿地120公顷。"
    terms = question_terms("2023年全市新增绿地多少公顷")
    assert missing_specific(terms, text) == ["2023"]
    assert missing_specific(terms, dated(text, "2023-06-08")) == []
    assert missing_specific(terms, dated(text, "2021-06-08")) == ["2023"]


def test_the_engine_answers_by_the_issue_date_and_the_full_name(tmp_path: Path, embedder: Embedder) -> None:
    archive = tmp_path / "paper.jsonl"
    records = [{"id": "1", "title": "市人大常委会召开第十次会议", "date": "2023-06-15", "content": FULL_NAME},
               {"id": "2", "title": "全市绿化成效明显", "date": "2023-06-08", "content": "全市今年新增绿地120公顷，建成口袋公园36个。"}]
    archive.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    ingest_paths([str(archive)], tmp_path / "index", embedder=embedder)
    engine = Engine(tmp_path / "index", embedder=embedder)
    assert "城市绿化条例" in engine.ask("人大常委会第十次会议审议通过了什么条例").answer
    assert "120公顷" in engine.ask("2023年全市新增绿地多少公顷").answer
    assert engine.ask("2021年全市新增绿地多少公顷").no_answer


def test_an_articles_scope_holds_the_papers_name_from_its_file_or_folders() -> None:
    text = "5月份全市夜间消费额达7.8亿元。"
    plain = Article("a", "夜市经济", "2023-06-08", "2023-06-08_云溪晚报.txt", text)
    page = Article("b", "夜市经济", "2023-06-08", "content_3.htm", text,
                   {"source_key": "/data/html/云溪晚报/2023-06/08/content_3.htm"})
    terms = question_terms("5月份云溪全市夜间消费额是多少？")
    for article in (plain, page):
        assert missing_specific(terms, article_scope(article)) == []  # 全市 in 云溪晚报 is 云溪
        assert "2023年6月8日" in article_scope(article)
    other = Article("c", "夜市经济", "2023-06-08", "2023-06-08_河阳报.txt", text)
    assert missing_specific(terms, article_scope(other)) == ["云溪"]

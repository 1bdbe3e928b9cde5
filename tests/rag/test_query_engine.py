"""The chain in llama-index's terms: fusion, widening, query and chat engines over the real sample index."""

from pathlib import Path

from llama_index.core.base.response.schema import Response
from llama_index.core.retrievers import QueryFusionRetriever

from ingest.embed import Embedder
from ingest.index import Index
from rag.context import ArticleNode, ArticleWidener
from rag.engine import Engine, as_chat_engine, as_query_engine
from rag.retrieve import SearchFilter, SearchQuery, search

FIRST_TITLE = "全县脱贫工作成效考核推进会召开"


def test_query_engine_gives_a_response_whose_source_nodes_are_the_cited_passages(
        sample_index: Path, embedder: Embedder) -> None:
    response = as_query_engine(sample_index, embedder=embedder).query("王宏伟提出了哪几点要求")
    assert isinstance(response, Response)
    assert "扛起政治责任" in str(response)
    assert len(response.source_nodes) >= 4
    for found in response.source_nodes:
        meta = found.node.metadata
        assert meta["title"] == FIRST_TITLE and meta["article_id"] and "11" in meta["date"]
        assert f"[{meta['n']}]" in str(response)
    article = Index.open(sample_index).get_article(response.source_nodes[1].node.metadata["article_id"])
    first = response.source_nodes[1].node.metadata
    assert "扛起政治责任" in article.text[first["start"]:first["end"]]


def test_a_refusal_cites_nothing_and_keeps_its_closest_passages_apart(sample_index: Path, embedder: Embedder) -> None:
    response = as_query_engine(sample_index, embedder=embedder).query("火星探测器何时着陆")
    assert response.metadata["no_answer"] and response.source_nodes == []
    assert response.metadata["related"] and "[" not in str(response)


def test_chat_engine_rewrites_a_follow_up_without_an_llm(sample_index: Path, embedder: Embedder) -> None:
    chat = as_chat_engine(sample_index, embedder=embedder)
    chat.chat("王宏伟提出了哪几点要求")
    reply = chat.chat("他还强调了什么")
    assert reply.sources[0].raw_input["query"] == "王宏伟还强调了什么"
    assert reply.sources[0].raw_output.source_nodes


def test_fusion_is_llama_index_reciprocal_rank_over_nodes_from_the_article_store(
        sample_index: Path, embedder: Embedder) -> None:
    engine = Engine(sample_index, embedder=embedder)
    assert isinstance(engine.retriever, QueryFusionRetriever)
    found = engine.retriever.retrieve(SearchQuery(query_str="王宏伟提出了哪几点要求"))
    ids = [n.node.node_id for n in found]
    assert len(ids) == len(set(ids))  # a chunk both sides found is one node
    assert all(n.node.get_content() for n in found)  # text from the store, not from Chroma's copy
    stored = engine.index.collection.get(ids=ids[:3], include=["documents"])["documents"]
    assert stored == ["", "", ""]  # Chroma keeps ids, vectors and filter fields only
    articles = ArticleWidener(index=engine.index, max_articles=2).postprocess_nodes(found)
    assert len(articles) == 2 and all(isinstance(a.node, ArticleNode) for a in articles)
    assert FIRST_TITLE in {a.node.metadata["title"] for a in articles}
    assert articles[0].node.context.hits[0].chunk_id == ids[0]  # best article first, with its hits


def test_filters_travel_with_the_query_through_one_retriever(sample_index: Path, embedder: Embedder) -> None:
    engine = Engine(sample_index, embedder=embedder)
    unfiltered = search(engine.retriever, "王宏伟", k=8)
    assert unfiltered
    assert search(engine.retriever, "王宏伟", k=8, filters=SearchFilter(source="elsewhere.txt")) == []


def test_a_follow_up_asked_first_is_asked_back_not_answered(sample_index: Path, embedder: Embedder) -> None:
    engine = Engine(sample_index, embedder=embedder)
    first = engine.ask("第二点是什么")
    assert first.no_answer and not first.citations and "前面问过" in first.answer
    assert not engine.ask("第二点是什么", history=["王宏伟提出了哪几点要求"]).no_answer

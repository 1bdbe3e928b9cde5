"""The engine as llama-index's query and chat engines, for users who compose llama-index pipelines.

`NewsQueryEngine.query(q)` returns a llama-index `Response`: the answer text with its [n] markers and,
as `source_nodes`, the cited passages (metadata `article_id`, `title`, `date`, `source`, `n`, and
`start`/`end` of the supporting words in the article). A refusal cites nothing; its closest passages
are in `response.metadata["related"]`. `NewsChatEngine` is llama-index's `CondenseQuestionChatEngine`
whose question rewriting is the engine's own (the configured LLM, else the rule-based rewriter).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.base.response.schema import Response
from llama_index.core.chat_engine import CondenseQuestionChatEngine
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.prompts import PromptTemplate
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore, TextNode

from rag.citations import Answer, Citation
from rag.retrieve import SearchFilter

_MEMORY_TOKENS = 3000  # earlier turns kept for rewriting; only the user's questions are read


def passage_node(citation: Citation) -> NodeWithScore:
    """One cited passage as a node; `start`/`end` locate its supporting words in the article."""
    start, end = citation.offset + citation.span[0], citation.offset + citation.span[1]
    node = TextNode(id_=f"{citation.article_id}:{start}-{end}", text=citation.text, metadata={
        "article_id": citation.article_id, "title": citation.title, "date": citation.date or "",
        "source": citation.source, "n": citation.n, "start": start, "end": end})
    return NodeWithScore(node=node, score=None)


def response_of(answer: Answer) -> Response:
    """An `Answer` as a llama-index `Response`; the `Answer` itself rides along in the metadata."""
    nodes = [passage_node(c) for c in answer.citations]
    return Response(response=answer.answer, source_nodes=[] if answer.no_answer else nodes, metadata={
        "answer": answer, "no_answer": answer.no_answer, "related": nodes if answer.no_answer else [],
        "condensed_question": answer.condensed_question, "timings_ms": answer.timings_ms})


class NewsQueryEngine(CustomQueryEngine):
    """`Engine.ask` behind llama-index's query-engine interface."""

    engine: Any  # rag.engine.Engine, which imports this module
    filters: SearchFilter = SearchFilter()

    def custom_query(self, query_str: str) -> Response:
        return response_of(self.engine.ask(query_str, filters=self.filters))


class NewsChatEngine(CondenseQuestionChatEngine):
    """Follow-ups made to stand alone by the engine's rewriter, then asked of `NewsQueryEngine`."""

    @classmethod
    def over(cls, query_engine: NewsQueryEngine) -> NewsChatEngine:
        memory = ChatMemoryBuffer.from_defaults(token_limit=_MEMORY_TOKENS)
        # the prompt and LLM slots of the parent stay unused: _condense_question is the engine's own
        return cls(query_engine, PromptTemplate("{question}"), memory, llm=None)  # type: ignore[arg-type]

    def _condense_question(self, chat_history: list[ChatMessage], last_message: str) -> str:
        asked = [str(m.content) for m in chat_history if m.role == MessageRole.USER]
        return str(self._query_engine.engine.condense(last_message, asked))  # type: ignore[attr-defined]

    async def _acondense_question(self, chat_history: list[ChatMessage], last_message: str) -> str:
        return self._condense_question(chat_history, last_message)

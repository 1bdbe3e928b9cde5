"""Engine(index_dir, config).ask(question, history) -> Answer: condense -> retrieve -> answer or refuse."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import EllipsisType

from ingest.embed import Embedder, load_embedder
from ingest.index import Index
from rag.citations import Answer, Citation, Retrieved
from rag.context import ArticleContext, article_contexts
from rag.extractive import Draft, cite_span, extractive_answer
from rag.followup import condense
from rag.llm import LLMAnswerer, LLMConfig
from rag.question_limits import check_question
from rag.relevance import asked_noun, missing_specific, names_asked, question_terms
from rag.retrieve import Hit, HybridRetriever, SearchFilter

NOT_FOUND = "档案中没有找到能回答这个问题的内容。"
CLOSEST = "以下是最接近的段落，仅供参考："
EMPTY_INDEX = "档案库还是空的：请先导入报纸文件。"
_MAX_ANSWERERS = 8


@dataclass(frozen=True)
class EngineConfig:
    """Knobs of question answering; the thresholds are calibrated on the sample eval set."""

    k: int = 8  # fused chunks handed to the answerer
    candidates: int = 30  # chunks each retriever proposes before fusion
    dense_weight: float = 1.0  # of the dense ranking in the fusion; BM25's is 1
    max_articles: int = 5  # articles the answerer reads, best first (3 lost sample answers among 5k news)
    min_support: float = 0.6  # share of the question's content words the cited article must hold
    closest: int = 2  # passages shown when nothing answers
    llm: LLMConfig | None = None  # an OpenAI-compatible server writes the answers; None: extractive only


class Engine:
    """Answers questions over one index; load once, ask many times (models stay warm)."""

    def __init__(
        self, index_dir: Path, config: EngineConfig = EngineConfig(), embedder: Embedder | None = None,
        chroma_url: str | None = None,
    ) -> None:
        self.index = Index.open(index_dir, chroma_url)
        self.config = config
        self.embedder = embedder or load_embedder(self.index.info().get("model"))
        self.index.check_model(self.embedder, self.index.tokenizer_name)
        self.retriever = HybridRetriever(self.index, self.embedder, config.candidates, config.dense_weight)
        self.llm = LLMAnswerer(config.llm) if config.llm else None
        self._answerers: dict[LLMConfig, LLMAnswerer] = {}
        self._answerers_lock = threading.Lock()  # the page asks from several threads

    def warm_up(self) -> None:
        """Load the model, BM25 and jieba now rather than on the first question."""
        self.ask("会议提出了哪些要求")

    def ask(self, question: str, history: list[str] | None = None, filters: SearchFilter = SearchFilter(),
            k: int | None = None, llm: LLMConfig | None | EllipsisType = ...) -> Answer:
        """Answer `question`; `history` holds the earlier user questions of the chat, oldest first.
        `llm` overrides the configured server for this question (None: extractive; ...: as configured).

        Example:
            >>> Engine(Path("data/index")).ask("王宏伟提出了哪几点要求").answer
        """
        *_, answer = self._answer(question, history or [], filters, k, self._answerer(llm), stream=False)
        assert isinstance(answer, Answer)
        return answer

    def stream(self, question: str, history: list[str] | None = None, filters: SearchFilter = SearchFilter(),
               llm: LLMConfig | None | EllipsisType = ...) -> Iterator[str | Answer]:
        """The answer text in growing pieces (the LLM's raw text as it arrives), then the finished,
        verified Answer, whose text may differ from the streamed pieces (for the chat page)."""
        streamed = False
        for item in self._answer(question, history or [], filters, None, self._answerer(llm), stream=True):
            if isinstance(item, Answer) and not streamed:
                yield from (item.answer[:end] for end in _line_ends(item.answer))
            streamed = True
            yield item

    def _answerer(self, llm: LLMConfig | None | EllipsisType) -> LLMAnswerer | None:
        """The answerer for `llm`, kept per config so each server's client is made once."""
        if llm is ...:
            return self.llm
        if llm is None:
            return None
        with self._answerers_lock:
            if llm not in self._answerers:
                if len(self._answerers) >= _MAX_ANSWERERS:  # page users may try many servers: forget the oldest
                    del self._answerers[next(iter(self._answerers))]
                self._answerers[llm] = LLMAnswerer(llm)
            return self._answerers[llm]

    def _answer(self, question: str, history: list[str], filters: SearchFilter, k: int | None,
                llm: LLMAnswerer | None, stream: bool) -> Iterator[str | Answer]:
        question = check_question(question)  # every caller: empty, emoji-only or overlong questions are refused
        started = time.perf_counter()
        standalone = llm.condense(question, history) if llm else condense(question, history)
        hits = self.retriever.search(standalone, k or self.config.k, filters)
        retrieved_at = time.perf_counter()
        contexts = article_contexts(self.index, hits, self.config.max_articles)
        draft = extractive_answer(standalone, contexts) if contexts else None
        answer, citations, no_answer = self._decide(standalone, draft, contexts, hits)
        mode, notice = "extractive", None
        if llm is not None and not no_answer:  # the LLM is asked only when the archive holds the answer
            generated = yield from llm.answer(standalone, contexts, citations, stream)
            notice = generated.notice
            if generated.verified is not None:
                answer, citations, mode = generated.verified.answer, generated.verified.citations, "llm"
        done = time.perf_counter()
        yield Answer(
            question=question, answer=answer, no_answer=no_answer, citations=citations,
            retrieved=[Retrieved(h.article_id, h.chunk_id, h.title, round(h.score, 6)) for h in hits],
            mode=mode, timings_ms={"retrieve": _ms(retrieved_at - started), "answer": _ms(done - retrieved_at),
                                   "total": _ms(done - started)},
            condensed_question=standalone if standalone != question else None, notice=notice,
        )

    def _decide(self, question: str, draft: Draft | None, contexts: list[ArticleContext],
                hits: list[Hit]) -> tuple[str, list[Citation], bool]:
        if not hits:
            return (NOT_FOUND if self.index.counts()["articles"] else EMPTY_INDEX), [], True
        if draft is not None and draft.citations:
            cited = next(c.article for c in contexts if c.article.id == draft.citations[0].article_id)
            passages = "\n".join(c.text for c in draft.citations)
            asked = asked_noun(question)  # 「哪些企业」: the cited passages must speak of 企业
            if (draft.support >= self.config.min_support
                    and not missing_specific(question_terms(question), cited.title + "\n" + cited.text)
                    and (asked is None or names_asked(asked, passages))):
                return draft.answer, draft.citations, False
        return self._closest(contexts)

    def _closest(self, contexts: list[ArticleContext]) -> tuple[str, list[Citation], bool]:
        citations = []
        for ctx in contexts[: self.config.closest]:
            best = ctx.hits[0]
            citations.append(cite_span(len(citations) + 1, ctx, best.start, best.end))
        markers = "".join(f"[{c.n}]" for c in citations)
        return f"{NOT_FOUND}{CLOSEST}{markers}" if citations else NOT_FOUND, citations, True


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _line_ends(text: str) -> Iterator[int]:
    position = 0
    while position < len(text):
        position = min(len(text), position + 12)
        yield position

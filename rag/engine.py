"""Engine(index_dir, config).ask(question, history) -> Answer: condense -> retrieve -> widen -> answer or refuse.

The steps are llama-index parts built once per engine: `hybrid_retriever` (a `QueryFusionRetriever`
over dense and BM25), `ArticleWidener` (a node postprocessor), and the extractive answerer (or the LLM
with verification). `as_query_engine` and `as_chat_engine` hand the same chain out as llama-index's
query and chat engines (rag/query_engine.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import EllipsisType

from ingest.embed import Embedder, load_embedder
from ingest.index import Index
from rag.citations import MARKER, Answer, Citation, Retrieved
from rag.context import ArticleContext, ArticleWidener, contexts_of
from rag.extractive import Draft, cite_span, extractive_answer
from rag.followup import HISTORY_NEEDED, condense, needs_history
from rag.llm import LLMAnswerer, LLMConfig
from rag.question_limits import check_question
from rag.relevance import article_scope, asked_noun, missing_specific, names_asked, question_terms
from rag.rerank import load_reranker
from rag.scorer import load_scorer
from rag.timeline import Anchored, DatedEvent, compare, find_event, on_date, parse_anchor, parse_comparison, written
from rag.query_engine import NewsChatEngine, NewsQueryEngine
from rag.retrieve import Hit, SearchFilter, SearchQuery, hybrid_retriever

NOT_FOUND = "档案中没有找到能回答这个问题的内容。"
EMPTY_INDEX = "档案库还是空的：请先导入报纸文件。"
UNSURE = "没有把握确定档案中有答案。下面的句子可能相关，请核对所列原文："
_MAX_ANSWERERS = 8
# answerability from which a fact answer stands without the asked noun in its passages (「那张照片是谁拍的」
# answered by 「（本报记者　韩冬　摄）」); chosen on the dev halves: at 0.5 half the near misses were answered,
# at 0.85 the noun check refused more right answers than at 0.7 and no more near misses
_SURE_ENOUGH = 0.7


@dataclass(frozen=True)
class EngineConfig:
    """Knobs of question answering; a fact answer's thresholds are in the scorer's model file (chosen on dev sets)."""

    k: int = 8  # fused chunks handed to the answerer
    candidates: int = 30  # chunks each retriever proposes before fusion
    max_articles: int = 5  # articles the answerer reads, best first (3 lost sample answers among 5k news)
    min_support: float = 0.6  # share of the question's content words the cited article must hold
    closest: int = 2  # passages shown when nothing answers
    llm: LLMConfig | None = None  # an OpenAI-compatible server writes the answers; None: extractive only
    scorer: Path | None = None  # a sentence scorer trained by `python -m eval.train_scorer`; None: the packaged one
    reranker: Path | None = None  # a local sentence-transformers CrossEncoder folder that reorders the best sentences


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
        self.retriever = hybrid_retriever(self.index, self.embedder, config.candidates)
        self.widener = ArticleWidener(index=self.index, max_articles=config.max_articles)
        self.llm = LLMAnswerer(config.llm) if config.llm else None
        self.scorer = load_scorer(config.scorer) if config.scorer else load_scorer()
        self.reranker = load_reranker(config.reranker) if config.reranker else None
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

    def condense(self, question: str, history: list[str], llm: LLMAnswerer | None | EllipsisType = ...) -> str:
        """`question` made to stand alone given the earlier questions: by the LLM when one answers,
        else by the rule-based rewriter."""
        answerer = self._answerer(llm) if llm is ... else llm
        return answerer.condense(question, history) if answerer else condense(question, history)

    def read(self, question: str, filters: SearchFilter = SearchFilter()) -> list[ArticleContext]:
        """The articles the answerer reads for a stand-alone `question`, best first (what the scorer's
        training sees)."""
        query = SearchQuery(query_str=question, filters=filters)
        return contexts_of(self.widener.postprocess_nodes(self.retriever.retrieve(query)[: self.config.k], query))

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
        if not history and needs_history(question):  # 「第二点是什么」 as a first question: ask back, never guess
            yield Answer(question=question, answer=HISTORY_NEEDED, no_answer=True, citations=[], retrieved=[],
                         timings_ms={"total": _ms(time.perf_counter() - started)})
            return
        standalone = self.condense(question, history, llm)
        anchor = self._anchor(standalone, filters)
        if anchor is not None:  # 「A当天，B…」 asked as 「2019年6月6日，B…」
            standalone = on_date(anchor[0], anchor[1].when)
        query = SearchQuery(query_str=standalone, filters=filters)
        found = self.retriever.retrieve(query)[: k or self.config.k]
        hits = [Hit.of(node) for node in found]
        retrieved_at = time.perf_counter()
        contexts = contexts_of(self.widener.postprocess_nodes(found, query))
        compared = self._compare(standalone, filters) if hits else None
        if compared is not None:  # each event dated from its own sentence: nothing for an LLM to write
            (answer, citations), no_answer = compared, False
        else:
            draft = extractive_answer(standalone, contexts, self.scorer, self.reranker) if contexts else None
            answer, citations, no_answer = self._decide(standalone, draft, contexts, hits)
        mode, notice = "extractive", None
        if llm is not None and not no_answer and compared is None:  # the LLM is asked only when the archive holds the answer
            generated = yield from llm.answer(standalone, contexts, citations, stream)
            notice = generated.notice
            if generated.verified is not None:
                answer, citations, mode = generated.verified.answer, generated.verified.citations, "llm"
        if anchor is not None and not no_answer:
            answer, citations = _with_anchor(anchor[0], anchor[1], answer, citations)
        done = time.perf_counter()
        yield Answer(
            question=question, answer=answer, no_answer=no_answer, citations=citations,
            retrieved=[Retrieved(h.article_id, h.chunk_id, h.title, round(h.score, 6)) for h in hits],
            mode=mode, timings_ms={"retrieve": _ms(retrieved_at - started), "answer": _ms(done - retrieved_at),
                                   "total": _ms(done - started)},
            condensed_question=standalone if standalone != question else None, notice=notice,
        )

    def _compare(self, question: str, filters: SearchFilter) -> tuple[str, list[Citation]] | None:
        """「A和B哪个更早发生？」: each event looked up and dated on its own (rag/timeline.py); None for
        any other question, or when an event is not in the archive or has no date."""
        comparison = parse_comparison(question)
        return compare(comparison, lambda event: self.read(event, filters), self.scorer) if comparison else None

    def _anchor(self, question: str, filters: SearchFilter) -> tuple[Anchored, DatedEvent] | None:
        """The event 「A当天，…」 is anchored on, found and dated; None for other questions or when A
        is not in the archive with a date (the question is then answered as asked)."""
        anchored = parse_anchor(question)
        found = find_event(anchored.event, lambda event: self.read(event, filters), self.scorer) if anchored else None
        return (anchored, found) if anchored and found else None

    def _decide(self, question: str, draft: Draft | None, contexts: list[ArticleContext],
                hits: list[Hit]) -> tuple[str, list[Citation], bool]:
        if not hits:
            return (NOT_FOUND if self.index.counts()["articles"] else EMPTY_INDEX), [], True
        if draft is None or not draft.citations:
            return self._closest(contexts)
        cited = next(c.article for c in contexts if c.article.id == draft.citations[0].article_id)
        passages = "\n".join(_with_question(contexts, c) for c in draft.citations)
        asked = asked_noun(question)  # 「哪些企业」: the cited passages must speak of 企业, unless the scorer is sure
        # a name, place or number of the question the cited article never mentions (人大常委会 may be
        # written out, a year may be the date): the article is about something else
        sure = draft.confidence is not None and draft.confidence >= _SURE_ENOUGH
        names_all = (not missing_specific(question_terms(question), article_scope(cited))
                     and (asked is None or sure or names_asked(asked, passages)))
        if not names_all:
            return self._closest(contexts)
        if draft.confidence is not None:  # fact sentences: the learned answerability decides
            if draft.confidence >= self.scorer.answer_at:
                return draft.answer, draft.citations, False
            if draft.confidence >= self.scorer.maybe_at:  # the sentences without [n]: shown, not cited as evidence
                shown = MARKER.sub("\n", draft.answer).strip()
                return f"{UNSURE}\n{shown}", draft.citations, True
            return self._closest(contexts)
        if draft.support >= self.config.min_support:
            return draft.answer, draft.citations, False
        return self._closest(contexts)

    def _closest(self, contexts: list[ArticleContext]) -> tuple[str, list[Citation], bool]:
        """A refusal; its citations are the closest passages, which edges show as 可能相关, not as evidence
        (the text carries no markers, so nothing reads as a cited claim)."""
        citations = []
        for ctx in contexts[: self.config.closest]:
            best = ctx.hits[0]
            citations.append(cite_span(len(citations) + 1, ctx, best.start, best.end))
        return NOT_FOUND, citations, True


def _with_anchor(anchored: Anchored, event: DatedEvent, answer: str,
                 citations: list[Citation]) -> tuple[str, list[Citation]]:
    """The answer after a line dating its anchor, cited as [1]; the answer's own citations move up one."""
    shifted = MARKER.sub(lambda m: f"[{int(m.group(1)) + 1}]", answer)
    first = cite_span(1, event.ctx, event.start, event.end)
    line = f"{anchored.event}：{written(event.when[: anchored.grain])}[1]"
    return f"{line}\n{shifted}", [first, *(replace(c, n=c.n + 1) for c in citations)]


def _with_question(contexts: list[ArticleContext], citation: Citation) -> str:
    """A cited paragraph, and for an interview's reply the question it answers (「…什么渠道反映？」
    names the 渠道 that 「答：可以拨打…热线」 does not)."""
    ctx = next(c for c in contexts if c.article.id == citation.article_id)
    return ctx.article.text[ctx.reply_start(citation.offset) : citation.offset + len(citation.text)]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _line_ends(text: str) -> Iterator[int]:
    position = 0
    while position < len(text):
        position = min(len(text), position + 12)
        yield position


def as_query_engine(index_dir: str | Path, config: EngineConfig = EngineConfig(),
                    filters: SearchFilter = SearchFilter(), embedder: Embedder | None = None) -> NewsQueryEngine:
    """The chain as a llama-index query engine: `.query(q)` gives a `Response` whose `source_nodes`
    are the cited passages.

    Example:
        >>> as_query_engine("data/index").query("王宏伟提出了哪几点要求").source_nodes[0].node.metadata["title"]
    """
    return NewsQueryEngine(engine=Engine(Path(index_dir), config, embedder), filters=filters)


def as_chat_engine(index_dir: str | Path, config: EngineConfig = EngineConfig(),
                   embedder: Embedder | None = None) -> NewsChatEngine:
    """The chain as a llama-index chat engine (`CondenseQuestionChatEngine`): follow-ups are rewritten by
    the configured LLM, or by the rule-based rewriter without one."""
    return NewsChatEngine.over(as_query_engine(index_dir, config, embedder=embedder))

"""The default answerer: the archive's own sentences, each followed by [n]; no LLM.

List questions get every enumerated item of the best-matching list, in order, one citation each.
Other questions get the one or two sentences that hold the fact, chosen by the question's
content words and by what kind of fact is asked (who / when / where / how many).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.citations import Citation
from rag.context import ArticleContext
from rag.enumerations import (
    Enumeration,
    asked_count,
    asked_family,
    asked_ordinal,
    find_enumerations,
    is_list_question,
)
from rag.relevance import Term, coverage, question_terms

# kind of fact asked -> (how the question asks it, what a sentence holding it looks like)
_FACT_KINDS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "when": (re.compile(r"何时|什么时候|哪天|哪一天|几月|几号|日期|时间"), re.compile(r"\d{1,2}月\d{1,2}日|\d{4}年|今年|近日")),
    "count": (re.compile(r"多少|几[个名位项次条家户人万亿元天年]|数量|比例"), re.compile(r"\d|[一二三四五六七八九十百千万两]+[个名位项次条家户人元%]")),
    "who": (re.compile(r"谁|哪位|什么人|何人|哪些人|哪些领导|姓名|主持|参加"), re.compile(r"书记|县长|主任|局长|部长|负责人|主席|代表|委员|同志")),
    "where": (re.compile(r"哪里|在哪|什么地方|何地|哪个村|哪个镇|地点|到哪"), re.compile(r"[村镇乡县市街路区]|公园|现场|指挥部")),
    # 「有哪些活动」 without numbered points: the sentence that lists things with 、
    "which": (re.compile(r"哪些|哪几"), re.compile(r"(?:[^、，,。]{1,12}、){2,}")),
}
_MAX_FACT_SENTENCES = 2


@dataclass(frozen=True)
class Draft:
    """An answer before the engine decides whether to trust it."""

    answer: str
    citations: list[Citation]
    support: float  # coverage of the question's content words by the cited article
    match: float = 0.0  # coverage by the cited words themselves (list intro and items, or the sentences)


def cite_span(n: int, ctx: ArticleContext, start: int, end: int) -> Citation:
    p_start, p_end = ctx.paragraph_of(start)
    end = min(end, p_end)
    article = ctx.article
    return Citation(
        n=n, article_id=article.id, title=article.title, date=article.date or article.meta.get("date_text"),
        source=article.source, text=article.text[p_start:p_end], span=(start - p_start, end - p_start), offset=p_start,
    )


def _enumeration_score(question: str, terms: tuple[Term, ...], ctx: ArticleContext, e: Enumeration) -> float:
    text = ctx.article.text
    intro_and_items = text[max(e.intro_start, e.start - 120) : e.items[min(1, len(e.items) - 1)].end]
    score = coverage(terms, intro_and_items) + 0.3 * coverage(terms, ctx.article.title)
    if asked_count(question) == len(e.items):
        score += 1.0
    if asked_family(question) == e.family:
        score += 1.0
    if ctx.near_hit(e.start, e.end):
        score += 0.3
    return score - 0.2 * ctx.rank


def answer_list(question: str, contexts: list[ArticleContext]) -> Draft | None:
    """Every item of the list that answers `question`, or None when no list fits it."""
    terms = question_terms(question)
    scored = [
        (_enumeration_score(question, terms, ctx, e), ctx, e)
        for ctx in contexts for e in find_enumerations(ctx.article.text)
    ]
    if not scored:
        return None
    score, ctx, best = max(scored, key=lambda s: s[0])
    if score < 0.6:
        return None
    text = ctx.article.text
    citations: list[Citation] = []
    lines: list[str] = []
    intro = text[best.intro_start : best.start].rstrip("，,：: ")
    if intro:
        citations.append(cite_span(1, ctx, best.intro_start, best.start))
        lines.append(f"{intro}：[1]")
    else:
        lines.append(f"共{len(best.items)}点：")
    ordinal = asked_ordinal(question)
    chosen = [best.items[ordinal - 1]] if ordinal and ordinal <= len(best.items) else best.items
    for item in chosen:  # each item keeps its own marker (一、 / 一是 / 一要 …), as the paper wrote it
        citations.append(cite_span(len(citations) + 1, ctx, item.start, item.end))
        lines.append(f"{text[item.start:item.end].rstrip('；;，,')}[{len(citations)}]")
    match = coverage(terms, text[max(best.intro_start, best.start - 120) : best.end])
    return Draft("\n".join(lines), citations, _support(terms, ctx, citations), match)


def _sentence_score(question: str, terms: tuple[Term, ...], ctx: ArticleContext, start: int, end: int) -> float:
    sentence = ctx.article.text[start:end]
    score = coverage(terms, sentence)
    for asks, holds in _FACT_KINDS.values():
        if asks.search(question) and holds.search(sentence):
            score += 0.3
    if ctx.near_hit(start, end):
        score += 0.15
    return score - 0.1 * ctx.rank - 0.0005 * len(sentence)  # shorter wins a tie: less to read


def answer_fact(question: str, contexts: list[ArticleContext], max_sentences: int = _MAX_FACT_SENTENCES) -> Draft | None:
    """The sentences that best hold the asked fact, in article order, one citation each."""
    terms = question_terms(question)
    scored = [
        (_sentence_score(question, terms, ctx, s.start, s.end), ctx, s.start, s.end)
        for ctx in contexts for s in ctx.sentences()
    ]
    if not scored:
        return None
    scored.sort(key=lambda s: -s[0])
    best_score, best_ctx = scored[0][0], scored[0][1]
    chosen = [s for s in scored[:max_sentences] if s[1] is best_ctx and s[0] >= 0.8 * best_score]
    chosen.sort(key=lambda s: s[2])
    parts = []
    citations = []
    for n, (_score, ctx, start, end) in enumerate(chosen, start=1):
        citations.append(cite_span(n, ctx, start, end))
        parts.append(f"{ctx.article.text[start:end]}[{n}]")
    match = coverage(terms, "".join(ctx.article.text[start:end] for _, ctx, start, end in chosen))
    return Draft("".join(parts), citations, _support(terms, best_ctx, citations), match)


def _support(terms: tuple[Term, ...], ctx: ArticleContext, citations: list[Citation]) -> float:
    """How much of the question the cited article speaks of (a speaker is often named paragraphs
    before the points the answer cites)."""
    return coverage(terms, ctx.article.title + "\n" + ctx.article.text)


def extractive_answer(question: str, contexts: list[ArticleContext]) -> Draft | None:
    """A list answer for list questions when a list fits, else the fact sentences."""
    if is_list_question(question) or asked_ordinal(question):
        listed = answer_list(question, contexts)
        fact = answer_fact(question, contexts, max_sentences=3)
        # a numbered list wins unless one sentence speaks of the question far better (「…从哪些方面汇报」
        # asked of a speaker whose points are listed with 、 rather than numbered)
        if listed is not None and (fact is None or listed.match + 0.25 >= fact.match):
            return listed
        return fact
    return answer_fact(question, contexts)

"""The default answerer: the archive's own sentences, each followed by [n]; no LLM.

List questions get every enumerated item of the best-matching list, in order, one citation each
(the paper's own markers, rag/enumerations.py). Other questions get the one or two sentences the
learned sentence scorer (rag/scorer.py over rag/sentence_features.py) finds likeliest to hold the
fact; the draft carries the scorer's answerability, which the engine turns into answer, 可能相关 or
refusal. Words of the question that are already in an article's headline say which article, not
which sentence, so a list is matched on the other words ("focus" terms).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from rag.relevance import Term, asked_about, coverage, focus_terms, question_terms, tag_words
from rag.rerank import RERANK_TOP, rerank_scores
from rag.scorer import SentenceScorer
from rag.sentence_features import FACT_KINDS, ArticleView, QuestionView, asked_category, sentence_features, with_standing

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

_MAX_FACT_SENTENCES = 2
MIN_SUBJECT_CHARS = 4  # a shorter subject (「会议」) says too little to make one sentence the whole answer


@dataclass(frozen=True)
class Draft:
    """An answer before the engine decides whether to trust it."""

    answer: str
    citations: list[Citation]
    support: float  # coverage of the question's content words by the cited article
    match: float = 0.0  # how well the cited words themselves fit the question (to choose list or fact)
    confidence: float | None = None  # a fact answer's learned answerability; None for a list


def cite_span(n: int, ctx: ArticleContext, start: int, end: int) -> Citation:
    """Citation `n` of article text [start, end): the passage is the paragraph that holds it."""
    p_start, p_end = ctx.paragraph_of(start)
    end = min(end, p_end)
    article = ctx.article
    return Citation(
        n=n, article_id=article.id, title=article.title, date=article.date or article.meta.get("date_text"),
        source=article.source, text=article.text[p_start:p_end], span=(start - p_start, end - p_start), offset=p_start,
    )


# ---- lists ----------------------------------------------------------------------------------
_SPEAKER_WINDOW = 800  # characters before a list searched for the person its 他/她 stands for


def speaker_before(text: str, position: int) -> str | None:
    """The person named last before `position`: whom a 他/她 at `position` stands for."""
    names = [word for word, flag in tag_words(text[max(0, position - _SPEAKER_WINDOW) : position])
             if flag == "nr" and len(word) >= 2]
    return names[-1] if names else None


def _enumeration_fit(question: str, focus: tuple[Term, ...], ctx: ArticleContext, e: Enumeration) -> float:
    text = ctx.article.text
    intro = text[max(e.intro_start, e.start - 120) : e.start]
    asked_in = ctx.reply_start(e.start)
    if asked_in < e.intro_start:  # 「答：一方面…」: the reporter's question says what the list is about
        intro = text[asked_in : e.intro_start] + intro
    if re.search("[他她]", intro):  # 「他强调：一是…」: the list is the last named person's
        intro = (speaker_before(text, max(e.intro_start, e.start - 120)) or "") + intro
    intro_and_items = intro + "".join(text[i.start : i.end] for i in e.items)
    fit = coverage(focus, intro_and_items)
    family = asked_family(question)
    category = asked_category(question)
    if family == e.family:
        return fit + 1.5  # 「哪几个“要”」 names the marker itself
    spoken_by_asked = any(t.specific and t.word in intro for t in focus)  # 「李明提出了哪几点要求」, he 强调 them
    if category and category not in intro_and_items and not spoken_by_asked:
        return fit - 1.0  # 「哪三个过关」 is not answered by a list of 要求
    return fit + (1.0 if asked_count(question) == len(e.items) else 0.0)


def answer_list(question: str, contexts: list[ArticleContext]) -> Draft | None:
    """Every item of the list that answers `question`, or None when no list fits it."""
    terms = question_terms(question)
    scored = []
    for ctx in contexts:
        focus = focus_terms(terms, ctx.article.title)
        for e in find_enumerations(ctx.article.text):
            fit = _enumeration_fit(question, focus, ctx, e)
            bonus = 0.3 * ctx.near_hit(e.start, e.end) - 0.2 * ctx.rank
            scored.append((fit + bonus, fit, ctx, e))
    if not scored:
        return None
    score, fit, ctx, best = max(scored, key=lambda s: s[0])
    if score < 0.6:
        return None
    text = ctx.article.text
    citations: list[Citation] = []
    lines: list[str] = []
    intro = text[best.intro_start : best.start].rstrip("，,：: ")
    if intro:
        citations.append(cite_span(1, ctx, best.intro_start, best.start))
        lines.append(f"{intro}：[1]" if best.family != "parallel" else f"{intro}[1]")
    else:
        lines.append(f"共{len(best.items)}点：")
    ordinal = asked_ordinal(question)
    chosen = [best.items[ordinal - 1]] if ordinal and ordinal <= len(best.items) else best.items
    for item in chosen:  # each item keeps its own marker (一、 / 一是 / 一要 …), as the paper wrote it
        citations.append(cite_span(len(citations) + 1, ctx, item.start, item.end))
        lines.append(f"{text[item.start:item.end].rstrip('；;，,')}[{len(citations)}]")
    return Draft("\n".join(lines), citations, _support(terms, ctx), fit)


# ---- facts ----------------------------------------------------------------------------------
Candidate = tuple[ArticleContext, int, int]  # a sentence: its article and [start, end) in the article text


def fact_candidates(question: str, contexts: list[ArticleContext]) -> tuple[list[Candidate], list[list[float]]]:
    """Every sentence of the read articles, with its row of FEATURES (what the scorer and its training see)."""
    q = QuestionView(question)
    candidates: list[Candidate] = []
    rows: list[list[float]] = []
    articles: list[int] = []
    for rank, ctx in enumerate(contexts):
        a = ArticleView.of(q, ctx)
        for number, s in enumerate(ctx.sentences()):
            if ctx.is_interviewer_turn(s.start):
                continue  # the reporter asks and states nothing (「记者：停车难…怎么破解？」 holds every word asked)
            candidates.append((ctx, s.start, s.end))
            rows.append(sentence_features(q, a, ctx, s.start, s.end, number))
            articles.append(rank)
    return candidates, with_standing(rows, articles)


def _names_the_asked(question: str, sentence: str) -> bool:
    """Whether a who/where question's whole subject stands in `sentence` word for word (a second
    sentence beside it would read as support it does not give)."""
    about = asked_about(question)
    asks_one = any(FACT_KINDS[kind][0].search(question) for kind in ("who", "where"))
    return asks_one and len(about) >= MIN_SUBJECT_CHARS and about in sentence and not is_list_question(question)


def answer_fact(question: str, contexts: list[ArticleContext], scorer: SentenceScorer,
                max_sentences: int = _MAX_FACT_SENTENCES, reranker: CrossEncoder | None = None) -> Draft | None:
    """The sentences the scorer finds likeliest to hold the asked fact, in article order, one citation
    each; the draft's confidence is the scorer's answerability of them."""
    candidates, rows = fact_candidates(question, contexts)
    if not candidates:
        return None
    probability = scorer.probabilities(rows)
    order = sorted(range(len(candidates)), key=lambda i: (-probability[i], candidates[i][2] - candidates[i][1]))
    if reranker is not None:  # the cross-encoder orders the scorer's best few
        top = order[:RERANK_TOP]
        scores = rerank_scores(reranker, question, [c.article.text[s:e] for c, s, e in (candidates[i] for i in top)])
        order = [i for _, i in sorted(zip(scores, top), key=lambda pair: -pair[0])] + order[RERANK_TOP:]
    best = order[0]
    best_ctx, best_start, best_end = candidates[best]
    if _names_the_asked(question, best_ctx.article.text[best_start:best_end]):
        max_sentences = 1  # 「县扶贫开发中心主任是谁」 and the sentence says 县扶贫开发中心主任史红兵: nothing to add
    chosen = sorted((candidates[i] for i in order[:max_sentences]
                     if candidates[i][0] is best_ctx and probability[i] >= scorer.second_at * probability[best]),
                    key=lambda c: c[1])
    parts = []
    citations = []
    for n, (ctx, start, end) in enumerate(chosen, start=1):
        citations.append(cite_span(n, ctx, start, end))
        parts.append(f"{ctx.article.text[start:end]}[{n}]")
    terms = question_terms(question)
    focus = focus_terms(terms, best_ctx.article.title)
    context_start = best_ctx.paragraph_of(chosen[0][1])[0]  # with the speaker named before the sentence
    match = coverage(focus, best_ctx.article.text[context_start : chosen[-1][2]])
    return Draft("".join(parts), citations, _support(terms, best_ctx), match, scorer.answerability(probability, rows))


def _support(terms: tuple[Term, ...], ctx: ArticleContext) -> float:
    """How much of the question the cited article speaks of (a speaker is often named paragraphs
    before the points the answer cites)."""
    return coverage(terms, ctx.article.title + "\n" + ctx.article.text)


def extractive_answer(question: str, contexts: list[ArticleContext], scorer: SentenceScorer,
                      reranker: CrossEncoder | None = None) -> Draft | None:
    """A list answer for list questions when a list fits, else the fact sentences."""
    if is_list_question(question) or asked_ordinal(question):
        listed = answer_list(question, contexts)
        fact = answer_fact(question, contexts, scorer, 3, reranker)
        # a numbered list wins unless one sentence fits the question far better (「…从哪些方面汇报」
        # asked of a speaker whose points are listed with 、 rather than numbered)
        if listed is not None and (fact is None or listed.match + 0.25 >= fact.match):
            return listed
        return fact
    return answer_fact(question, contexts, scorer, reranker=reranker)

"""The default answerer: the archive's own sentences, each followed by [n]; no LLM.

List questions get every enumerated item of the best-matching list, in order, one citation each.
Other questions get the one or two sentences that hold the fact, chosen by the question's
content words and by what kind of fact is asked (who / when / where / how many / which / view).
Words of the question that are already in an article's headline say which article, not which
sentence, so sentences are scored on the other words ("focus" terms).
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
from rag.relevance import Term, asked_about, coverage, question_terms, tag_words

# kind of fact asked -> (how the question asks it, what a sentence holding it looks like)
_FACT_KINDS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "when": (re.compile(r"何时|什么时候|哪天|哪一天|几月|几号|日期|时间"), re.compile(r"\d{1,2}月\d{1,2}日|\d{4}年|今年|近日")),
    "count": (re.compile(r"多少|几[个名位项次条家户人万亿元天年]|数量|比例"), re.compile(r"\d|[一二三四五六七八九十百千万两]+[个名位项次条家户人元%]")),
    "who": (re.compile(r"谁|哪位|什么人|何人|哪些人|哪些领导|姓名|主持|参加"), re.compile(r"书记|县长|主任|局长|部长|负责人|主席|代表|委员|同志")),
    "where": (re.compile(r"哪里|在哪|什么地方|哪些地方|何地|哪个村|哪个镇|地点|到哪|去了哪|到了哪"),
              re.compile(r"[到在赴][^，,。；;]{0,24}(?:村|镇|乡|公园|现场|街|路|指挥部|广场|园区|基地|企业|学校)")),
    "demand": (re.compile(r"什么要求|哪些要求|提出了什么|强调了什么|部署了什么"), re.compile(r"要[^求]|必须|务必|应当|切实")),
    # 「有哪些活动」 without numbered points: the sentence that lists things with 、
    "which": (re.compile(r"哪些|哪几"), re.compile(r"(?:[^、，,。]{1,12}、){2,}")),
    "view": (re.compile(r"评价|看待|怎么看|如何看|认为"), re.compile(r"表示|指出|认为|强调|肯定|体现")),
}
_ROLE_QUESTION = re.compile(r"^(.{2,6}?)(?:担任|任|是)(?:什么|何|哪个)?(?:职务|职位|身份|官职|领导)")
_TITLES = "书记|县长|市长|主任|局长|部长|负责人|主席|委员|常委|代表|队长|所长|镇长|村长"
_CATEGORY = re.compile(r"(?:哪些|哪几|哪|几)[一二三四五六七八九十两]*[个点项条种位大]?([\u4e00-\u9fff]{1,4})")
_PLACE_OR_TIME = {"地方", "时候", "时间", "地点"}  # asked through the where/when kinds instead
_MAX_FACT_SENTENCES = 2
MIN_SUBJECT_CHARS = 4  # a shorter subject (「会议」) says too little to make one sentence the whole answer


@dataclass(frozen=True)
class Draft:
    """An answer before the engine decides whether to trust it."""

    answer: str
    citations: list[Citation]
    support: float  # coverage of the question's content words by the cited article
    match: float = 0.0  # how well the cited words themselves fit the question (to choose list or fact)


def cite_span(n: int, ctx: ArticleContext, start: int, end: int) -> Citation:
    """Citation `n` of article text [start, end): the passage is the paragraph that holds it."""
    p_start, p_end = ctx.paragraph_of(start)
    end = min(end, p_end)
    article = ctx.article
    return Citation(
        n=n, article_id=article.id, title=article.title, date=article.date or article.meta.get("date_text"),
        source=article.source, text=article.text[p_start:p_end], span=(start - p_start, end - p_start), offset=p_start,
    )


def _focus(terms: tuple[Term, ...], title: str) -> tuple[Term, ...]:
    # empty when the headline holds every word: then what is asked (when / where / …) decides
    return tuple(t for t in terms if t.word not in title)


def asked_category(question: str) -> str | None:
    """The category a list question asks for: 要求 in 「哪几点要求」, 过关 in 「哪“三个过关”」."""
    match = _CATEGORY.search(re.sub(r"[“”\"「」]", "", question))
    if not match:
        return None
    words = [w for w, _ in tag_words(match.group(1)) if len(w) >= 2]
    return words[0] if words else None


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
        focus = _focus(terms, ctx.article.title)
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
def _kind_bonus(question: str, sentence: str) -> float:
    bonus = sum(0.3 for asks, holds in _FACT_KINDS.values() if asks.search(question) and holds.search(sentence))
    role = _ROLE_QUESTION.match(question)
    if role and re.search(rf"(?:{_TITLES})[^，,。；;]{{0,3}}{re.escape(role.group(1))}", sentence):
        bonus += 0.6  # 「薛玉马担任什么职务」: the title stands right before the name
    category = asked_category(question)
    if category and category not in _PLACE_OR_TIME and category in sentence:
        bonus += 0.3  # 「从哪些方面」: the sentence that says 五个方面
    return bonus


def _sentence_score(question: str, focus: tuple[Term, ...], ctx: ArticleContext, start: int, end: int) -> float:
    text = ctx.article.text
    p_start = ctx.reply_start(start)  # a reply is read with the question it answers
    own = coverage(focus, text[start:end])
    window = coverage(focus, text[p_start:end])  # the speaker is often named where the paragraph starts
    score = 0.5 * own + 0.5 * window + _kind_bonus(question, text[start:end])
    if ctx.is_interviewer_turn(start):
        score -= 1.0  # the reporter asks, states nothing: 「记者：停车难…怎么破解？」 holds every word asked
    score += 0.15 * ctx.near_hit(start, end) - 0.1 * ctx.rank
    return score - 0.0003 * (end - start)  # shorter wins a tie: less to read


def _names_the_asked(question: str, sentence: str) -> bool:
    """Whether a who/where question's whole subject stands in `sentence` word for word (a second
    sentence beside it would read as support it does not give)."""
    about = asked_about(question)
    asks_one = any(_FACT_KINDS[kind][0].search(question) for kind in ("who", "where"))
    return asks_one and len(about) >= MIN_SUBJECT_CHARS and about in sentence and not is_list_question(question)


def answer_fact(question: str, contexts: list[ArticleContext], max_sentences: int = _MAX_FACT_SENTENCES) -> Draft | None:
    """The sentences that best hold the asked fact, in article order, one citation each."""
    terms = question_terms(question)
    scored = []
    for ctx in contexts:
        focus = _focus(terms, ctx.article.title)
        scored.extend((_sentence_score(question, focus, ctx, s.start, s.end), ctx, s.start, s.end)
                      for s in ctx.sentences())
    if not scored:
        return None
    scored.sort(key=lambda s: -s[0])
    best_score, best_ctx = scored[0][0], scored[0][1]
    if _names_the_asked(question, best_ctx.article.text[scored[0][2]:scored[0][3]]):
        max_sentences = 1  # 「县扶贫开发中心主任是谁」 and the sentence says 县扶贫开发中心主任史红兵: nothing to add
    chosen = [s for s in scored[:max_sentences] if s[1] is best_ctx and s[0] >= 0.85 * best_score]
    chosen.sort(key=lambda s: s[2])
    parts = []
    citations = []
    for n, (_score, ctx, start, end) in enumerate(chosen, start=1):
        citations.append(cite_span(n, ctx, start, end))
        parts.append(f"{ctx.article.text[start:end]}[{n}]")
    focus = _focus(terms, best_ctx.article.title)
    context_start = best_ctx.paragraph_of(chosen[0][2])[0]  # with the speaker named before the sentence
    match = coverage(focus, best_ctx.article.text[context_start : chosen[-1][3]])
    return Draft("".join(parts), citations, _support(terms, best_ctx), match)


def _support(terms: tuple[Term, ...], ctx: ArticleContext) -> float:
    """How much of the question the cited article speaks of (a speaker is often named paragraphs
    before the points the answer cites)."""
    return coverage(terms, ctx.article.title + "\n" + ctx.article.text)


def extractive_answer(question: str, contexts: list[ArticleContext]) -> Draft | None:
    """A list answer for list questions when a list fits, else the fact sentences."""
    if is_list_question(question) or asked_ordinal(question):
        listed = answer_list(question, contexts)
        fact = answer_fact(question, contexts, max_sentences=3)
        # a numbered list wins unless one sentence fits the question far better (「…从哪些方面汇报」
        # asked of a speaker whose points are listed with 、 rather than numbered)
        if listed is not None and (fact is None or listed.match + 0.25 >= fact.match):
            return listed
        return fact
    return answer_fact(question, contexts)

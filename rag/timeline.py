"""Questions about when events happened relative to each other: 「A和B哪个更早发生？」,
「A与B是在同一个月吗？」, 「以下事件发生的时间顺序是怎样的：A、B、C」, and questions anchored on an
event's day: 「A当天，B说了什么？」.

No single sentence answers them, so the fact answerer refuses them. Here each event is looked up
on its own (the engine's retrieval and the learned sentence scorer), its date is read from the
sentence that reports it (a 7月8日 takes its year from the text before it or the issue date), and
the answer gives every event's date with its citation, then the comparison. An event the archive
does not name, or one without a date, leaves the question to the ordinary answerer (which refuses).
An anchored question is asked again with the anchor's date written in its place, so the ordinary
answerer (and its check that the cited article holds that date) answers it.
The patterns below are the question's structure (the comparison asked, the events joined by 和/与/、),
not cue words for what the archive says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.citations import Citation
from rag.context import ArticleContext
from rag.extractive import cite_span, fact_candidates
from rag.relevance import article_scope, missing_specific, question_terms, tag_words
from rag.scorer import SentenceScorer

_SAME = re.compile(r"同一(?:个)?(年|月|天|日)")
_ORDER = re.compile(r"(最早|更早|最先|先发生|早发生|最晚|更晚|最后发生|晚发生|时间顺序|先后顺序|先后)")
# what joins the events to the asking words: 「A和B(，这两个事件)(是否)(都)(是)(在)同一年…」
_TAIL = re.compile(r"(?:[，,：:\s]|这(?:两|三|四|几|些)(?:个|件)?(?:事件|事情|事)?|以下事件中?|其中|事件中|中|"
                   r"哪(?:个|一个|一|件)?(?:事件|事)?|是否|是不是|都|均|是|发生(?:得|在|于)?|的|时间|日期|在|于)+$")
_LIST_MARKS = {"、", "，", ",", "还是", "或", "或者"}
_CONJUNCTIONS = ("和", "以及", "及", "与", "跟", "同")
_QUOTED = re.compile(r"[“‘《「'\"][^“”‘’《》「」'\"]*[”’》」'\"]")  # a name in quotes is never split
_MIN_EVENT = 4  # characters: 「以色列与哈马斯…」 is one event, not 以色列 and 哈马斯…
_DATE = re.compile(r"(?:(\d{4})年)?(?:(\d{1,2})月)?(?:(\d{1,2})日)?")
_YEAR_MONTH = re.compile(r"(\d{4})年(\d{1,2})月")
_WHEN_ONLY = re.compile(r"\d{4}年|\d{1,2}月|\d{1,2}日|[年月][初中底末]|上半年|下半年|\W")  # 「2020年中」 scopes, it is no event
_GRAIN = {"年": 1, "月": 2, "天": 3, "日": 3}
_NAMES = {1: "同一年", 2: "同一个月", 3: "同一天"}
_ANCHOR = re.compile(r"(.{4,80}?)(当天|当日|那天|那一天|当月|同月|当年|同年)[，,\s]+(.{4,})")
_ANCHOR_GRAIN = {"当天": 3, "当日": 3, "那天": 3, "那一天": 3, "当月": 2, "同月": 2, "当年": 1, "同年": 1}


@dataclass(frozen=True)
class Comparison:
    """The events a question compares and what it asks of their dates."""

    events: tuple[str, ...]
    asks: str  # "earliest", "latest", "order" or "same"
    grain: int = 3  # for "same": 1 year, 2 month, 3 day


@dataclass(frozen=True)
class Anchored:
    """「A当天，B…？」: the anchoring event, the question asked on its date, and the date's grain."""

    event: str
    rest: str
    grain: int


@dataclass(frozen=True)
class DatedEvent:
    """An event of the question as the archive reports it: its date and the sentence that gives it."""

    event: str
    when: tuple[int, ...]  # (year, month, day), as far as the text says
    ctx: ArticleContext
    start: int
    end: int


def parse_comparison(question: str) -> Comparison | None:
    """The comparison `question` asks, or None when it asks something else (or names one event)."""
    text = question.strip().rstrip("？?。")
    same, order = _SAME.search(text), _ORDER.search(text)
    if same:
        asks, grain, head = "same", _GRAIN[same.group(1)], text[: same.start()]
    elif order:
        word = order.group(1)
        asks = "order" if "顺序" in word or word == "先后" else "latest" if "晚" in word or "最后" in word else "earliest"
        grain, head = 3, text[: order.start()]
        after = re.split(r"[：:？?]", text[order.end() :], maxsplit=1)
        if len(after) == 2 and len(after[1]) > len(head):  # 「以下事件中，最早发生的是哪个：A，B，C」, 「…最早？是A、B，还是C」
            head = re.sub(r"^(?:是|有)", "", after[1].strip())
    else:
        return None
    events = split_events(_TAIL.sub("", head))
    return Comparison(events, asks, grain) if len(events) >= 2 else None


def parse_anchor(question: str) -> Anchored | None:
    """The event a question is anchored on (「…召开当天，…」), or None."""
    match = _ANCHOR.match(question.strip())
    if not match or parse_comparison(question):
        return None
    return Anchored(match.group(1).strip(), match.group(3).strip(), _ANCHOR_GRAIN[match.group(2)])


def on_date(anchored: Anchored, when: tuple[int, ...]) -> str:
    """The anchored question with the anchor's date in the anchor's place: 「2019年6月6日，…？」."""
    return f"{written(when[: anchored.grain])}，{anchored.rest}"


def split_events(text: str) -> tuple[str, ...]:
    """The events of 「A、B和C」: split at list commas and at the strongest conjunction the text uses
    (和 before 及 before 与: 「A与B的通话和C」 is two events), where jieba reads it as a word of its
    own and outside quotes (和平, 共和国 and 「‘羲和号’」 stay whole); a piece too short to be an
    event is rejoined to its neighbour."""
    words = _words(text)
    quoted = {n for m in _QUOTED.finditer(text) for n in range(m.start() + 1, m.end())}
    level, at = [], 0
    for word in words:
        level.append(1 if at in quoted else 0)
        at += len(word)
    used = [j for j in _CONJUNCTIONS if any(w == j and d == 0 for w, d in zip(words, level))]
    joiners = _LIST_MARKS | set(used[:1])
    pieces: list[str] = [""]
    for word, depth in zip(words, level):
        if word in joiners and depth == 0:
            pieces += [word, ""]  # the joiner kept, to rejoin a short piece
        else:
            pieces[-1] += word
    events: list[str] = []
    for n in range(0, len(pieces), 2):
        piece = pieces[n].strip()
        if not piece:
            continue
        if events and (len(re.sub(r"\W", "", piece)) < _MIN_EVENT or len(re.sub(r"\W", "", events[-1])) < _MIN_EVENT):
            events[-1] += pieces[n - 1] + piece
        else:
            events.append(piece)
    return tuple(e for e in events if len(_WHEN_ONLY.sub("", e)) >= 2)


def _words(text: str) -> list[str]:
    """jieba's words, a conjunction it glued to an unknown name split off again (「和思美」 of
    「…事件和思美传媒…」; 和平 and 和解 are in its dictionary and stay)."""
    import jieba

    words = []
    for word, _ in tag_words(text):
        if len(word) > 1 and word[0] in _CONJUNCTIONS and not jieba.get_FREQ(word):
            words += [word[0], word[1:]]
        else:
            words.append(word)
    return words


def date_of(ctx: ArticleContext, start: int, end: int) -> tuple[int, ...] | None:
    """The date the sentence [start, end) reports: its own 2019年7月8日 / 7月8日 / 8日, missing parts
    taken from the text before it, then the issue date; without a date of its own, the last date
    written before it. The year is 0 when nothing gives one (an issue file whose name holds no year:
    its 11月16日 still orders against the same issue's 11月9日); None without even a month."""
    text = ctx.article.text
    issue = tuple(int(p) for p in ctx.article.date.split("-")) if ctx.article.date else ()
    own = _dates(text[start:end])
    found = own[0] if own else (_dates(text[max(0, start - 400) : start]) or [None])[-1]
    if found is None:
        return issue or None
    year, month, day = found
    if year is None:
        year = _year_of(month, day, _YEAR_MONTH.findall(text[max(0, start - 1000) : start]), issue)
    if year is None:
        if month is None:
            return None
        year = 0
    if month is None and day is not None:  # 「8日上午」 in a dated news report: the issue's month
        month = issue[1] if len(issue) > 1 and issue[0] == year else None
    return tuple(part for part in (year, month, day if month else None) if part is not None)


def _year_of(month: int | None, day: int | None, before: list[tuple[str, str]], issue: tuple[int, ...]) -> int | None:
    """The year of a 7月8日: that of the last full date before it (not 「2002年至2005年的…」), the next
    one when the month went back and the issue is later (「2023年12月30日…1月6日」 in a 2024 paper);
    with no full date before it, the issue's year, the year before for a day after the issue date."""
    if before:
        year, last_month = int(before[-1][0]), int(before[-1][1])
        if month is not None and month < last_month and issue and issue[0] > year:
            return year + 1
        return year
    if not issue:
        return None
    return issue[0] - 1 if (month or 0, day or 0) > tuple(issue[1:]) else issue[0]


def _dates(text: str) -> list[tuple[int | None, int | None, int | None]]:
    found = []
    for match in _DATE.finditer(text):
        year, month, day = (int(g) if g else None for g in match.groups())
        if match.group(0) and (month is None or 1 <= month <= 12) and (day is None or 1 <= day <= 31):
            if year is None and month is None and not re.match(r"\d{1,2}日[上下晚凌早中]|\d{1,2}日[，,电讯]", text[match.start():]):
                continue  # a bare 「5日」 counts only as a report's day (「8日上午」, 「8日电」)
            found.append((year, month, day))
    return found


def find_event(event: str, read: Callable[[str], list[ArticleContext]], scorer: SentenceScorer) -> DatedEvent | None:
    """The article the scorer likes best for `event`, its likeliest sentence that writes a date (else
    its likeliest sentence), and that date; None when the article does not name the event's names,
    places and numbers, or gives no date."""
    contexts = read(event)
    candidates, rows = fact_candidates(event, contexts)
    if not candidates:
        return None
    probability = scorer.probabilities(rows)
    best = candidates[int(probability.argmax())][0]
    if missing_specific(question_terms(event), article_scope(best.article)):
        return None
    # the likeliest sentence of that article that writes a date itself: the citation shows the date
    mine = sorted((i for i, c in enumerate(candidates) if c[0] is best), key=lambda i: -probability[i])
    dated = [i for i in mine if _dates(best.article.text[candidates[i][1] : candidates[i][2]])]
    _, start, end = candidates[(dated or mine)[0]]
    when = date_of(best, start, end)
    return DatedEvent(event, when, best, start, end) if when else None


def compare(comparison: Comparison, read: Callable[[str], list[ArticleContext]],
            scorer: SentenceScorer) -> tuple[str, list[Citation]] | None:
    """The answer text (each event's date with [n], then the comparison) and its citations; None when
    an event cannot be found and dated, or the dates are too coarse to decide."""
    found = [find_event(event, read, scorer) for event in comparison.events]
    if any(f is None for f in found):
        return None
    events = [f for f in found if f is not None]
    verdict = _verdict(comparison, events)
    if verdict is None:
        return None
    lines = [f"{e.event}：{written(e.when)}[{n}]" for n, e in enumerate(events, start=1)]
    return "\n".join([verdict, *lines]), [cite_span(n, e.ctx, e.start, e.end) for n, e in enumerate(events, start=1)]


def _verdict(comparison: Comparison, events: list[DatedEvent]) -> str | None:
    yearless = [e.when[0] == 0 for e in events]
    if any(yearless) and (comparison.grain == 1 or not all(yearless)
                          or len({e.ctx.article.source for e in events}) > 1):
        return None  # a date without its year compares only with another of its own issue, and never by year
    if comparison.asks == "same":
        grain = comparison.grain
        if any(len(e.when) < grain for e in events):
            return None  # 「同一天吗」 of a date known to the month only
        same = len({e.when[:grain] for e in events}) == 1
        return f"{'是' if same else '不是'}{_NAMES[grain]}。"
    grain = min(len(e.when) for e in events)
    keys = [e.when[:grain] for e in events]
    ordered = sorted(range(len(events)), key=lambda n: keys[n])
    if comparison.asks == "order":
        return "按时间先后：" + "，".join(events[n].event for n in ordered) + "。"
    pick = ordered[0] if comparison.asks == "earliest" else ordered[-1]
    if sum(k == keys[pick] for k in keys) > 1:
        return None  # the same day (or month) as far as the text says: no earliest to name
    return f"{'最早' if comparison.asks == 'earliest' else '最晚'}发生的是{events[pick].event}。"


def written(when: tuple[int, ...]) -> str:
    """(2019, 7, 8) as 2019年7月8日; (2019, 7) as 2019年7月; (0, 11, 16), the year unknown, as 11月16日."""
    return "".join(f"{part}{unit}" for part, unit in zip(when, "年月日") if part)

"""What a reviewer can read about a (question, candidate sentence) pair: the features the learned
sentence scorer weighs (rag/scorer.py) and `eval.train_scorer` learns from.

Each feature is one number with a name in FEATURES: how much of the question the sentence, its
paragraph, its article and its headline hold; character-bigram overlap; whether the kind of fact
asked (a number, a date, a person, a place …) is what the sentence holds; where the sentence
stands and how retrieval ranked its article. The kind patterns say what a question asks and what
a sentence holds; how much each counts is learned, not set by hand.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property

import numpy as np

from rag.context import ArticleContext
from rag.relevance import (
    Term,
    article_scope,
    asked_noun,
    coverage,
    focus_terms,
    missing_specific,
    names_asked,
    question_terms,
    tag_words,
)

# kind of fact asked -> (how the question asks it, what a sentence holding it looks like)
FACT_KINDS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "when": (re.compile(r"何时|什么时候|哪天|哪一天|哪年|哪一年|几月|几号|日期|时间"),
             re.compile(r"\d{1,2}月\d{1,2}日|\d{4}年|今年|近日|[上下]午|晚|凌晨|\d{1,2}日")),
    "count": (re.compile(r"多少|几[个名位项次条家户人万亿元天年倍]|数量|比例|多大|多高|多长|多重|多厚|多远"),
              re.compile(r"\d|[一二三四五六七八九十百千万两]+[个名位项次条家户人元%倍]")),
    "who": (re.compile(r"谁|哪位|什么人|何人|哪些人|哪些领导|姓名|主持|参加"),
            re.compile(r"书记|县长|主任|局长|部长|负责人|主席|代表|委员|同志|总理|总统|首相|院长|省长|市长")),
    "where": (re.compile(r"哪里|在哪|什么地方|哪些地方|何地|哪个村|哪个镇|哪座|哪个城市|哪个国家|哪个省|地点|到哪|去了哪|到了哪"),
              re.compile(r"[到在赴于][^，,。；;]{0,24}(?:村|镇|乡|县|市|省|国|公园|现场|街|路|指挥部|广场|园区|基地|企业|学校|举行)")),
    # the granularity asked: 「哪天」 wants a day, not the 今年 that any sentence of the year has
    "day": (re.compile(r"哪天|哪一天|几号|几月几日|哪日|日期"), re.compile(r"\d{1,2}月\d{1,2}日|\d{1,2}日|[昨今明]天")),
    "year": (re.compile(r"哪年|哪一年|何年|年份|几几年"), re.compile(r"\d{4}年|[一二〇零○]{4}年")),
    "demand": (re.compile(r"什么要求|哪些要求|提出了什么|强调了什么|部署了什么"), re.compile(r"要[^求]|必须|务必|应当|切实")),
    # 「有哪些活动」 without numbered points: the sentence that lists things with 、
    "which": (re.compile(r"哪些|哪几"), re.compile(r"(?:[^、，,。]{1,12}、){2,}")),
    "view": (re.compile(r"评价|看待|怎么看|如何看|认为"), re.compile(r"表示|指出|认为|强调|肯定|体现")),
    "why": (re.compile(r"为什么|为何|原因|目的"), re.compile(r"因为|由于|原因|为了|旨在|以便")),
    "name": (re.compile(r"叫什么|名称|名字|主题|称为|称号"), re.compile(r"“[^”]{2,30}”|《[^》]{2,30}》|主题")),
}
ROLE_QUESTION = re.compile(r"^(.{2,6}?)(?:担任|任|是)(?:什么|何|哪个)?(?:职务|职位|身份|官职|领导)")
TITLES = "书记|县长|市长|主任|局长|部长|负责人|主席|委员|常委|代表|队长|所长|镇长|村长|总理|总统|省长|院长"
_CATEGORY = re.compile(r"(?:哪些|哪几|哪|几)[一二三四五六七八九十两]*[个点项条种位大]?([\u4e00-\u9fff]{1,4})")
_PLACE_OR_TIME = {"地方", "时候", "时间", "地点"}  # asked through the where/when kinds instead
_ASKING_WORDS = re.compile(r"什么|哪些|哪几|哪个|哪位|哪里|多少|怎么|怎样|如何|为什么|是否|谁|哪|几|吗|呢")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_HOW_MANY_UNIT = re.compile(r"(?:多少|几)([\u4e00-\u9fff]{1,2})")  # 「多少人次」: a count of 人次 is asked
_SLOT_CONTEXT = 4  # characters each side of the asking word that say what is asked (「积雪有多厚」, 「由谁主持」)
_PRONOUN_START = re.compile(r"[\s　]*(?:他|她|它|牠|其|该|这|此|他们|她们|它们)")  # the subject is in the sentence before
# a table row as ingest/tables.py writes it (「北山区　降水量（毫米）：143.5　…」): its first cell names the row
_TABLE_ROW = re.compile(r"[\s　]*([^\u3000：:，,。；;]{1,24})\u3000[^\u3000]{1,24}[：:]")
_CREDIT_LINE = re.compile(r"[\s　]*[（(]?[^（）()，,。；;]{1,16}摄[）)]?[\s　]*$")  # 「（本报记者　韩冬　摄）」 under a photo

# what `sentence_features` computes for one sentence
OWN_FEATURES = (
    "own", "window", "own_all_terms", "article_support", "title_cover", "specific_missing", "bigram_overlap",
    "question_numbers", "asked_noun_named", "novelty", "near_hit", "article_rank", "best_hit_score",
    "position", "lead", "log_length", "role_title", "category",
    "chunk_dense", "chunk_bm25", "article_dense",
    "unit_after_number", "longest_common", "slot_before", "slot_after", "previous_overlap", "idf_overlap", "pronoun_start",
    *(f"kind_{kind}" for kind in FACT_KINDS), "asks_fact_kind", "table_row_named", "credit_line",
)
# the same for every sentence of an article (or of the question): no standing among its sentences
_ARTICLE_WIDE = {"article_support", "title_cover", "specific_missing", "article_rank", "best_hit_score",
                 "article_dense", "asks_fact_kind"}
STANDING = tuple(name for name in OWN_FEATURES if name not in _ARTICLE_WIDE)
FEATURES = (*OWN_FEATURES, *(f"{name}_below_best" for name in STANDING))
_STANDING_COLUMNS = [OWN_FEATURES.index(name) for name in STANDING]


def asked_category(question: str) -> str | None:
    """The category a list question asks for: 要求 in 「哪几点要求」, 过关 in 「哪“三个过关”」."""
    match = _CATEGORY.search(re.sub(r"[“”\"「」]", "", question))
    if not match:
        return None
    words = [w for w, _ in tag_words(match.group(1)) if len(w) >= 2]
    return words[0] if words else None


def _cover(terms: tuple[Term, ...], text: str) -> float:
    # coverage() counts a question without content words as fully covered (nothing to miss); as a
    # feature that would make every sentence look like the answer (「韩立新是什么职务」: jieba splits the name)
    return coverage(terms, text) if terms else 0.0


def _han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if _han(text[i]) and _han(text[i + 1])}


@dataclass(frozen=True)
class QuestionView:
    """What every candidate of one question is compared with, worked out once."""

    question: str

    @cached_property
    def terms(self) -> tuple[Term, ...]:
        return question_terms(self.question)

    @cached_property
    def bigrams(self) -> set[str]:
        return _bigrams(_ASKING_WORDS.sub(" ", self.question))

    @cached_property
    def numbers(self) -> list[str]:
        return _NUMBER.findall(self.question)

    @cached_property
    def kinds(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        return tuple((kind, holds) for kind, (asks, holds) in FACT_KINDS.items() if asks.search(self.question))

    @cached_property
    def asked_noun(self) -> str | None:
        return asked_noun(self.question)

    @cached_property
    def role(self) -> str | None:
        match = ROLE_QUESTION.match(self.question)
        return match.group(1) if match else None

    @cached_property
    def category(self) -> str | None:
        category = asked_category(self.question)
        return category if category not in _PLACE_OR_TIME else None

    @cached_property
    def chars(self) -> set[str]:
        return set(self.question)

    @cached_property
    def stripped(self) -> str:
        return _ASKING_WORDS.sub("", re.sub(r"[？?！!。，,、：:“”\"《》\s]", "", self.question))

    @cached_property
    def unit(self) -> re.Pattern[str] | None:
        match = _HOW_MANY_UNIT.search(self.question)
        if not match:
            return None
        unit = match.group(1)
        return re.compile(rf"[\d一二三四五六七八九十百千万亿两][\d.万亿千百多余]*(?:{re.escape(unit)}|{re.escape(unit[0])})")

    @cached_property
    def slots(self) -> tuple[set[str], set[str]]:
        """Bigrams just before and just after the asking word: the thing asked about and what it did."""
        match = _ASKING_WORDS.search(self.question)
        if not match:
            return set(), set()
        after = re.split(r"[，,。？?！!、；;]", self.question[match.end() : match.end() + _SLOT_CONTEXT])[0]
        return _bigrams(self.question[max(0, match.start() - _SLOT_CONTEXT) : match.start()]), _bigrams(after)


@dataclass(frozen=True)
class ArticleView:
    """One article's part of the features, the same for each of its sentences."""

    focus: tuple[Term, ...]  # the question's words the headline does not already hold
    support: float
    title_cover: float
    specific_missing: float
    best_hit_score: float
    best_dense: float
    sentences: int
    idf: dict[str, float]  # each question bigram's rarity among the article's sentences: the topic says least

    @classmethod
    def of(cls, q: QuestionView, ctx: ArticleContext) -> ArticleView:
        article = ctx.article
        specific = [t for t in q.terms if t.specific]
        sentences = [article.text[s.start : s.end] for s in ctx.sentences()]
        n = len(sentences) or 1
        idf = {b: math.log((n + 1) / (1 + sum(b in text for text in sentences))) + 0.1 for b in q.bigrams}
        missing = missing_specific(q.terms, article_scope(article))
        return cls(
            focus=focus_terms(q.terms, article.title),
            support=_cover(q.terms, article.title + "\n" + article.text),
            title_cover=_cover(q.terms, article.title),
            specific_missing=len(missing) / len(specific) if specific else 0.0,
            best_hit_score=max((h.score for h in ctx.hits), default=0.0),
            best_dense=max((h.dense for h in ctx.hits), default=0.0),
            sentences=n,
            idf=idf,
        )


def sentence_features(q: QuestionView, a: ArticleView, ctx: ArticleContext, start: int, end: int,
                      number: int) -> list[float]:
    """The OWN_FEATURES of sentence [start, end), the `number`-th of its article, in that order."""
    text = ctx.article.text
    sentence = text[start:end]
    window = text[ctx.reply_start(start) : end]  # the speaker is often named where the paragraph starts
    sentence_bigrams = _bigrams(sentence)
    han_chars = [ch for ch in sentence if _han(ch)]
    new_chars = [ch for ch in han_chars if ch not in q.chars]
    han = len(han_chars) or 1
    kinds = {kind: 1.0 if holds.search(sentence) else 0.0 for kind, holds in q.kinds}
    role = q.role
    previous = text[max(0, start - 80) : start]
    overlapping = [h for h in ctx.hits if h.start < end and start < h.end]  # the chunks that hold the sentence
    common = SequenceMatcher(None, q.stripped, sentence, autojunk=False).find_longest_match().size if q.stripped else 0
    return [
        _cover(a.focus, sentence),
        _cover(a.focus, window),
        _cover(q.terms, sentence),
        a.support,
        a.title_cover,
        a.specific_missing,
        len(q.bigrams & sentence_bigrams) / len(q.bigrams) if q.bigrams else 0.0,
        sum(n in sentence for n in q.numbers) / len(q.numbers) if q.numbers else 0.0,
        1.0 if q.asked_noun is None or names_asked(q.asked_noun, window) else 0.0,
        len(new_chars) / han,
        1.0 if ctx.near_hit(start, end) else 0.0,
        float(ctx.rank),
        a.best_hit_score * 60,  # reciprocal-rank fusion: 1/60 for a first place
        number / a.sentences,
        1.0 if number == 0 else 0.0,
        math.log1p(end - start),
        1.0 if role and re.search(rf"(?:{TITLES})[^，,。；;]{{0,3}}{re.escape(role)}", sentence) else 0.0,
        1.0 if q.category and q.category in sentence else 0.0,
        max((h.dense for h in overlapping), default=0.0),
        max((h.lexical for h in overlapping), default=0.0),
        a.best_dense,
        1.0 if q.unit and q.unit.search(sentence) else 0.0,
        min(common, 12) / 12,
        *(len(slot & sentence_bigrams) / len(slot) if slot else 0.0 for slot in q.slots),
        len(q.bigrams & _bigrams(previous)) / len(q.bigrams) if q.bigrams else 0.0,
        sum(a.idf[b] for b in q.bigrams & sentence_bigrams) / sum(a.idf.values()) if a.idf else 0.0,
        1.0 if _PRONOUN_START.match(sentence) else 0.0,
        *(kinds.get(kind, 0.0) for kind in FACT_KINDS),
        1.0 if q.kinds else 0.0,
        1.0 if (row := _TABLE_ROW.match(sentence)) and row.group(1).strip() in q.question else 0.0,
        1.0 if _CREDIT_LINE.match(sentence) else 0.0,
    ]


def with_standing(rows: list[list[float]], articles: list[int]) -> list[list[float]]:
    """Each row of OWN_FEATURES followed by its STANDING features less the best of its article's
    sentences (`articles[i]` says whose row i is): a lead that repeats the question outscores the
    sentence holding the answer on raw overlap, so how a sentence stands among its own article's
    sentences is what a linear model needs beside it (out of fold on the dev questions: the top
    sentence held the answer for about 546 of 704 against 529 on raw features alone)."""
    if not rows:
        return []
    own = np.asarray(rows, dtype=float)
    standing = own[:, _STANDING_COLUMNS]
    owners = np.asarray(articles)
    for article in np.unique(owners):
        mine = owners == article
        standing[mine] -= standing[mine].max(axis=0)
    return np.hstack([own, standing]).tolist()

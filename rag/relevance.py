"""Weigh a question's content words and tell whether a text answers it at all.

Multilingual e5 puts almost any two Chinese news sentences above 0.8 cosine, so the dense score
alone cannot say "not in the archive". The check that works here is lexical: the specific words
of the question (names, places, numbers, nouns) must occur in the article that would be cited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.articles import Article

# words that ask, not say: they never count as content
_QUESTION_WORDS = {
    "什么", "哪些", "哪几", "哪个", "哪位", "哪里", "哪儿", "哪天", "多少", "怎么", "怎样", "如何", "为什么", "是否", "有没有",
    "几点", "几个", "几项", "几条", "几种", "哪几个", "哪几点", "时候", "时间", "日期", "地方", "内容", "情况", "方面",
    "问题", "主要", "具体", "分别", "一下", "请问", "介绍", "报道", "文章", "新闻", "本报", "提到", "说", "谈到",
    "他们", "她们", "我们", "进行", "有关", "相关", "哪", "谁", "担任", "职务", "职位", "身份", "评价", "看待", "认为",
    "处理", "做到", "怎样", "分别",
}
_ASKING_CHARS = set("哪谁吗呢么啥")
_MONTH_DAY = re.compile(r"\d{1,2}月\d{1,2}日")  # one fact, not two numbers
_SPECIFIC = {"nr", "nrt", "nrfg", "ns", "nt", "nz", "eng", "j"}  # names, places, organisations, acronyms
_SHORT_FORMS = {"j", "nt"}  # abbreviations and organisations: 人大常委会 is 人民代表大会常务委员会 in the text
_CONTENT_PREFIXES = ("n", "v", "a", "l", "i", "m", "t", "s", "b", "f", "z")


@dataclass(frozen=True)
class Term:
    """A content word of a question and how much it says about what is asked."""

    word: str
    weight: float
    specific: bool
    short_form: bool = False  # jieba tags it an abbreviation or organisation: it may stand for a longer name


def tag_words(text: str) -> list[tuple[str, str]]:
    """(word, part-of-speech) pairs by jieba, quietly (jieba logs its dictionary load otherwise)."""
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(60)
    return [(pair.word, pair.flag) for pair in pseg.lcut(text)]


_ABBREVIATION_GAP = 3  # characters skipped between two of an abbreviation's (代表 in 人[民代表]大会)


@lru_cache(maxsize=2048)
def question_terms(question: str) -> tuple[Term, ...]:
    """Content words of the question, names and places weighted highest."""
    terms: dict[str, Term] = {date: Term(date, 3.0, True) for date in _MONTH_DAY.findall(question)}
    for pair_word, pair_flag in tag_words(_MONTH_DAY.sub(" ", question)):
        word, flag = pair_word.strip(), pair_flag
        if len(word) < 2 or word in _QUESTION_WORDS or not (flag in _SPECIFIC or flag.startswith(_CONTENT_PREFIXES)):
            continue
        if any(ch in _ASKING_CHARS for ch in word):
            continue  # jieba glues 哪些项目 into one word; it asks, it does not say
        if flag == "m" and not any(ch.isdigit() for ch in word):
            continue  # 几点 / 三个: counting words, not facts
        specific = flag in _SPECIFIC or any(ch.isdigit() for ch in word)
        weight = 3.0 if specific else 1.5 if flag.startswith("n") else 1.0
        terms[word] = Term(word, weight, specific, flag in _SHORT_FORMS)
    return tuple(terms.values())


def _abbreviates(term: str, text: str) -> bool:
    """Whether `term` is a Chinese abbreviation of words in `text`: its characters in order, each a few
    characters after the last (人大常委会 in 人民代表大会常务委员会, 县委 is too short to tell)."""
    if len(term) < 3 or not all("\u4e00" <= ch <= "\u9fff" for ch in term):
        return False
    gap = ".{0,%d}" % _ABBREVIATION_GAP
    return re.search(gap.join(map(re.escape, term)), text) is not None


def _found(term: str, text: str, short_form: bool = False) -> float:
    """1 when the word occurs, or (for a short form) a longer name it abbreviates; else, for a longer
    word, the share of its bigrams that occur."""
    if term.lower() in text.lower() or (short_form and _abbreviates(term, text)):
        return 1.0
    if len(term) < 3:
        return 0.0
    bigrams = [term[i : i + 2] for i in range(len(term) - 1)]
    return 0.5 * sum(b in text for b in bigrams) / len(bigrams)


def coverage(terms: tuple[Term, ...], text: str) -> float:
    """Weighted share of the question's content words found in `text` (1.0 when there are none)."""
    total = sum(t.weight for t in terms)
    if not total:
        return 1.0
    return sum(t.weight * _found(t.word, text, t.short_form) for t in terms) / total


def focus_terms(terms: tuple[Term, ...], title: str) -> tuple[Term, ...]:
    """The terms a headline does not already hold: those say which sentence, the others which article
    (empty when the headline holds every word: then what is asked, when / where / …, decides)."""
    return tuple(t for t in terms if t.word not in title)


def dated(text: str, date: str | None) -> str:
    """`text` with its article's date written out (2023年6月8日), so a year or day asked about that only
    the issue date gives is found."""
    if not date or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        return text
    year, month, day = (int(part) for part in date.split("-"))
    return f"{text}\n{year}年{month}月{day}日"


def article_scope(article: Article) -> str:
    """What an article names, for the check that it names what a question names: headline and body,
    the issue date written out (`dated`), and the paper's name from its file's name or the folders just
    above it: in 「2023-06-08_云溪晚报.txt」 or 「云溪晚报/2023-06/08/content_1.htm」 a 全市 is 云溪, so
    「云溪全市夜间消费额」 is this article's question."""
    path = Path(str(article.meta.get("source_key") or article.source))
    paper = " ".join(re.findall(r"[\u4e00-\u9fff]+", "/".join(path.parts[-4:])))
    return dated(f"{article.title}\n{article.text}", article.date) + (f"\n{paper}" if paper else "")


def missing_specific(terms: tuple[Term, ...], text: str) -> list[str]:
    """Names, places and numbers of the question that `text` never mentions."""
    return [t.word for t in terms if t.specific and _found(t.word, text, t.short_form) < 0.5]


_WHO_IS = re.compile(r"([\u4e00-\u9fff]{2,})是谁")
_HOW_IS = re.compile(r"([\u4e00-\u9fff]{2,})(?:怎么样|怎样|如何)[？?]?$")
_HOW_MANY = re.compile(r"([\u4e00-\u9fff]{2,}?)(?:有|是|为|达|拿出|共)?多少([\u4e00-\u9fff]{0,4})")
_ASKED = re.compile(r"(?:哪些|哪几[个点项条种位家]?|(?<!为)什么|哪[一二三四五六七八九十两]+[个点项条种位家]?)([\u4e00-\u9fff]{2,6})")
# categories every speech or report has: asking for them names no fact that could be missing
_GENERIC_ASKED = {
    "要求", "方面", "做法", "措施", "工作", "关系", "问题", "意见", "建议", "经验", "内容", "事项", "任务", "举措", "重点",
    "部署", "安排", "指示", "讲话", "强调", "目标", "成效", "情况", "环节", "原则", "途径", "办法", "方式", "领导", "人员",
    "职务", "职位", "身份", "地方", "人", "项目", "现场", "村", "镇",
    # abstract categories: a text describes them without naming them (「有什么特点」)
    "变化", "用途", "特点", "特征", "作用", "意义", "原因", "影响", "定义", "区别", "方法", "过程", "东西", "名称",
    "特色", "经历", "结果", "用处",
}
# an asked category the text names by its members: 「哪些部门」 is answered by 县委办、扶贫办
_NAMED_BY = {
    "部门": ("办", "局", "委", "部", "中心", "所", "处"),
    "单位": ("办", "局", "委", "部", "中心", "所", "公司"),
    "站点": ("站",),
}


def asked_noun(question: str) -> str | None:
    """The thing a question asks for by category: 「调研了哪些企业」 -> 企业, 「运城市市长是谁」 -> 市长,
    「人口有多少」 -> 人口; None for categories every report has."""
    who = _WHO_IS.search(question) or _HOW_IS.search(question)  # 「天气怎么样」 asks for 天气
    how_many = _HOW_MANY.search(question)
    if who:
        words = tag_words(who.group(1))
        word = words[-1][0] if words else ""
    elif how_many:  # 「拿出多少经费」 asks for 经费; 「人口有多少」 for 人口
        after = [w for w, _ in tag_words(how_many.group(2)) if len(w) >= 2]
        before = [w for w, _ in tag_words(how_many.group(1))]
        word = after[0] if after else (before[-1] if before else "")
    else:
        match = _ASKED.search(question)
        if not match:
            return None
        words = tag_words(match.group(1))
        # a noun names a category; 「什么一度…」 or 「多少话一共」 put an adverb there
        word = words[0][0] if words and words[0][1].startswith(("n", "vn")) else ""
    if len(word) < 2 or word in _GENERIC_ASKED or word in _QUESTION_WORDS:
        return None
    return word


_ASKING = re.compile(r"谁|什么|哪|几|多少|如何|怎么|怎样|是否")


def asked_about(question: str) -> str:
    """What a question is about: its words before the asking word (「执法检查由谁带队」 -> 执法检查)."""
    match = _ASKING.search(question)
    return question[: match.start()].rstrip("由的是在对把被让给和与及，, ") if match else ""


def names_asked(noun: str, text: str) -> bool:
    """Whether `text` speaks of the asked category, by its name or (部门 …) by its members."""
    return noun in text or any(member in text for member in _NAMED_BY.get(noun, ()))

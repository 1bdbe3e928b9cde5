"""Spot list questions and collect an article's enumerated items (一、二、三 / 一是… / 第一… / 一要… /
（一） / 1. / ① / 首先…其次…最后 / 一方面…另一方面 / ●■◆ bullets).

Speeches in the county paper number their points; a list question must get every point, in
order, even when the points sit in different paragraphs and so in different chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_NUM = "[一二三四五六七八九十]"
_BEFORE = r"(?:^|(?<=[\n，,：:。；;！？!?、”]))"  # a marker follows a break, never the middle of a word
# family name -> pattern with one group: the numeral
FAMILIES: dict[str, re.Pattern[str]] = {
    "dun": re.compile(_BEFORE + rf"({_NUM}{{1,2}})、", re.M),
    "shi": re.compile(_BEFORE + rf"({_NUM}{{1,2}})是", re.M),
    "yao": re.compile(_BEFORE + rf"({_NUM}{{1,2}})要", re.M),
    "di": re.compile(_BEFORE + rf"第({_NUM}{{1,2}})(?=[，,、：:是要条点])", re.M),
    "paren": re.compile(rf"[（(]({_NUM}{{1,2}}|\d{{1,2}})[)）]"),
    "arabic": re.compile(r"^(\d{1,2})[、.．](?!\d)", re.M),
    "circled": re.compile(r"([①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])"),
    # ordinal words stand before a comma; 「最后一公里」 is no item
    "sequence": re.compile(_BEFORE + r"(首先|其次|再次|最后)(?=[，,：:])", re.M),
    "aspect": re.compile(_BEFORE + r"(一方面|另一方面)", re.M),
    "bullet": re.compile(r"^[ \t\u3000]*([●■◆▲★□◇○•])", re.M),
}
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
# a marker's number; 0: the item after the one before (最后, and bullets, which all look alike)
_WORD_NUMBERS = {"首先": 1, "其次": 2, "再次": 3, "最后": 0, "一方面": 1, "另一方面": 2}
_LIST_QUESTION = re.compile(
    rf"哪几|哪些|几点|几个|几项|几条|几方面|几种|哪{_NUM}+[个点项条种方]|{_NUM}+[个点项条]|有什么(?:要求|措施|做法)|分别|列举"
)
_ITEM_END = re.compile(r"[。！？!?；;]")
_QUESTION_COUNT = re.compile(rf"({_NUM})[个点项条种大]|({_NUM})方面")
_ORDINAL = re.compile(rf"第({_NUM}{{1,2}}|\d{{1,2}})[点个条项要是]")
_FAMILY_HINTS = {
    "yao": re.compile(rf"[“\"]要[”\"]|几要|哪几个要|{_NUM}要[、，,”]"),
    "shi": re.compile(rf"[“\"]是[”\"]|{_NUM}是[、，,”]"),
}


def numeral_value(text: str) -> int:
    """1 for 一, 10 for 十, 12 for 十二, 20 for 二十; digits as they are."""
    if text.isdigit():
        return int(text)
    if len(text) == 1:
        return _NUMERALS.get(text, 0)
    if text[0] == "十":
        return 10 + _NUMERALS.get(text[1], 0)
    return _NUMERALS.get(text[0], 0) * 10 + (_NUMERALS.get(text[1], 0) if len(text) > 2 else 0)


@dataclass(frozen=True)
class Item:
    """One enumerated point: [start, end) in the article text, marker included."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class Enumeration:
    """A run of items numbered 1..n of one marker family, with the text that introduces them."""

    family: str
    items: tuple[Item, ...]
    intro_start: int  # start of the sentence that introduces the list (may equal items[0].start)

    @property
    def start(self) -> int:
        return self.items[0].start

    @property
    def end(self) -> int:
        return self.items[-1].end


def is_list_question(question: str) -> bool:
    """哪几点要求 / 有哪些做法 / 哪五个关系 / 从哪几个方面 …"""
    return bool(_LIST_QUESTION.search(question))


def asked_count(question: str) -> int | None:
    """3 for 「哪三点」, None when the question gives no number."""
    match = _QUESTION_COUNT.search(question)
    return numeral_value(match.group(1) or match.group(2)) if match else None


def asked_ordinal(question: str) -> int | None:
    """2 for 「第二点是什么」: one item of a list is asked for."""
    match = _ORDINAL.search(question)
    return numeral_value(match.group(1)) if match else None


def asked_family(question: str) -> str | None:
    """The marker family a question names, e.g. 「哪几个“要”」 -> 'yao'."""
    return next((family for family, hint in _FAMILY_HINTS.items() if hint.search(question)), None)


def _item_end(text: str, start: int, limit: int) -> int:
    match = _ITEM_END.search(text, start, limit)
    return match.end() if match else limit


def _marker_number(family: str, marker: str) -> int:
    if family == "circled":
        return _CIRCLED.index(marker) + 1
    if family == "bullet":
        return 0
    return _WORD_NUMBERS[marker] if marker in _WORD_NUMBERS else numeral_value(marker)


def _runs(text: str, family: str, pattern: re.Pattern[str]) -> list[Enumeration]:
    runs: list[list[tuple[int, int]]] = []  # (number, position)
    for match in pattern.finditer(text):
        number = _marker_number(family, match.group(1))
        near = bool(runs) and match.start() - runs[-1][-1][1] < 1500
        if number == 0 and near:
            runs[-1].append((runs[-1][-1][0] + 1, match.start()))
        elif number == 1 or (number == 0 and family == "bullet"):
            runs.append([(1, match.start())])
        elif near and runs[-1][-1][0] == number - 1:
            runs[-1].append((number, match.start()))
    enumerations = []
    for run in runs:
        if len(run) < 2:
            continue
        items = []
        for i, (number, position) in enumerate(run):
            paragraph_end = text.find("\n", position)
            paragraph_end = len(text) if paragraph_end < 0 else paragraph_end
            limit = min(run[i + 1][1], paragraph_end) if i + 1 < len(run) else paragraph_end
            items.append(Item(number, position, _item_end(text, position, limit)))
        sentence_start = max(text.rfind(mark, 0, run[0][1]) for mark in "。！？\n") + 1
        enumerations.append(Enumeration(family, tuple(items), sentence_start))
    return enumerations


_CLAUSE = re.compile(r"[^；;。！？!?\n]+[；;]|[^；;。！？!?\n]+[。！？!?]")


def _parallel_runs(text: str) -> list[Enumeration]:
    """Unnumbered parallel clauses: 「要抓好…；抓好…；抓好…。」 (same head word, split by ；)."""
    enumerations = []
    for paragraph in re.finditer(r"[^\n]+", text):
        clauses = [(m.start() + paragraph.start(), m.end() + paragraph.start()) for m in _CLAUSE.finditer(paragraph.group())]
        run: list[tuple[int, int]] = []
        for start, end in clauses + [(-1, -1)]:
            head = text[start:end].lstrip("要")[:2] if start >= 0 else ""
            if run and head and head == text[run[0][0] : run[0][1]].lstrip("要")[:2] and text[run[-1][1] - 1] in "；;":
                run.append((start, end))
                continue
            if len(run) >= 2:
                items = tuple(Item(n, s, e) for n, (s, e) in enumerate(run, start=1))
                intro = max(text.rfind(mark, 0, max(0, run[0][0] - 1)) for mark in "。！？\n") + 1
                enumerations.append(Enumeration("parallel", items, intro))
            run = [(start, end)] if start >= 0 else []
    return enumerations


def find_enumerations(text: str) -> list[Enumeration]:
    """Every numbered run (at least two items) and run of parallel clauses, in text order."""
    found = [e for family, pattern in FAMILIES.items() for e in _runs(text, family, pattern)]
    return sorted(found + _parallel_runs(text), key=lambda e: e.start)

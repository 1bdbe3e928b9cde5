"""Rewrite a follow-up question so it stands alone, using the earlier questions of the chat.

「他还强调了什么？」 after 「王宏伟提出了哪几点要求」 becomes 「王宏伟还强调了什么？」: pronouns
take the name asked about before; a bare follow-up (还有呢 / 具体呢) takes the earlier topic.
"""

from __future__ import annotations

import re

from rag.relevance import question_terms, tag_words

_PRONOUN = re.compile(r"他们|她们|他|她|该同志|这位|那位|此人")
_THING = re.compile(r"^(?:这次|此次|该|这个|那个)(?:会议|活动|检查|调研|讲话)?")
_BARE_FOLLOW_UP = re.compile(r"^(?:还有|那么|那|另外|此外|具体|然后|其次)")
_PERSON_FLAGS = ("nr",)
_ORDINAL_FOLLOW_UP = re.compile(r"^(?:那|那么)?第[一二三四五六七八九十\d]+[点个条项要是]")


def _topic(question: str) -> tuple[str | None, list[str]]:
    """(the person asked about, the other names/places) of an earlier question."""
    person = next((word for word, flag in tag_words(question) if flag.startswith(_PERSON_FLAGS) and len(word) >= 2), None)
    others = [t.word for t in question_terms(question) if t.specific and t.word != person]
    return person, others


_ASKING = re.compile(r"谁|什么|哪|几|多少|如何|怎么|怎样|是否")


def _asked_about(question: str) -> str:
    """What a question is about: its words before the asking word (「执法检查由谁带队」 -> 执法检查)."""
    match = _ASKING.search(question)
    return question[: match.start()].rstrip("由的是在对把被让给和与及，, ") if match else ""


def condense(question: str, history: list[str]) -> str:
    """`question` made to stand alone given the earlier user questions (oldest first)."""
    question = question.strip()
    if not history:
        return question
    earlier = history[-1].strip().rstrip("？?")
    if _ORDINAL_FOLLOW_UP.match(question):
        return f"{earlier}，{question}"  # 「第二点是什么」 picks from the list asked before
    person, others = next(((p, o) for p, o in map(_topic, reversed(history)) if p or o), (None, []))
    if _PRONOUN.search(question):
        subject = person or _asked_about(earlier)  # 「他们」 of a group: what the earlier question was about
        return _PRONOUN.sub(subject, question, count=1) if subject else f"{earlier}，{question}"
    if any(t.specific for t in question_terms(question)):
        return question  # it names its own subject
    if _THING.match(question) or _BARE_FOLLOW_UP.match(question) or len(question) <= 8:
        topic = " ".join(([person] if person else []) + others) or earlier
        return f"{topic} {question}".strip()
    return question

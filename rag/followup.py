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


def condense(question: str, history: list[str]) -> str:
    """`question` made to stand alone given the earlier user questions (oldest first)."""
    question = question.strip()
    if not history:
        return question
    if _ORDINAL_FOLLOW_UP.match(question):
        return f"{history[-1].rstrip('？?')}，{question}"  # 「第二点是什么」 picks from the list asked before
    for earlier in reversed(history):
        person, others = _topic(earlier)
        if person or others:
            break
    else:
        return question
    if person and _PRONOUN.search(question):
        return _PRONOUN.sub(person, question, count=1)
    own = [t for t in question_terms(question) if t.specific]
    if own:
        return question  # it names its own subject
    if _THING.match(question) or _BARE_FOLLOW_UP.match(question) or len(question) <= 8:
        topic = " ".join(([person] if person else []) + others)
        return f"{topic} {question}".strip()
    return question

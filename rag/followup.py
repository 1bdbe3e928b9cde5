"""Rewrite a follow-up question so it stands alone, using the earlier questions of the chat.

「他还强调了什么？」 after 「王宏伟提出了哪几点要求」 becomes 「王宏伟还强调了什么？」: pronouns
take the name asked about before; a bare follow-up (还有呢 / 具体呢) takes the earlier topic.
`needs_history` tells a question that points back at an earlier one (第二点是什么 / 他还强调了什么)
and so cannot be answered as the first of a chat.
"""

from __future__ import annotations

import re

from rag.relevance import asked_about, question_terms, tag_words

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



# Words that point back at something said before; the language's structure, kept short on purpose:
# third-person pronouns before any noun they could refer to, demonstratives opening a question about
# one thing, a bare ordinal (第二点 picks from an earlier list), and phrases naming the earlier talk.
# They are jieba's words, so 其他 (other) holds no 他.
_PRONOUNS = {"他", "她", "它", "他们", "她们", "它们", "此人", "该同志", "这位", "那位"}
_DEMONSTRATIVES = {"这", "那", "这个", "那个", "这些", "那些", "这次", "此次", "这项", "该", "其中"}
_LEAD_INS = {"那", "那么", "其中", "还有", "另外"}  # before an ordinal: 「那第三点呢」 「其中第二点」
_EARLIER_TALK = re.compile(r"上面|上述|前面|刚才|你说的")
_ORDINAL = re.compile(r"第[一二三四五六七八九十两\d]+([点条项个])?$")  # 第二点; 第二 + 点 as two words
_LIST_MEASURES = {"点", "条", "项", "个"}
_POINTING_CHARS = re.compile(r"[他她它这那该此其第]|上面|上述|前面|刚才|你说")
_NAME_FLAGS = {"nr", "ns", "nt", "nz", "j"}  # person, place, organisation, other proper name, abbreviation
HISTORY_NEEDED = "这个问题指的是前面问过的内容（如“第二点”“他”）：请先把问题问完整，再接着追问。"


def _is_noun(flag: str) -> bool:
    return flag.startswith("n") or flag == "vn"


def _opens_with_ordinal(words: list[tuple[str, str]]) -> bool:
    """「第二点是什么」 「那第三条呢」: an ordinal of a list item at the start (not 「第四区」 「第三十一届」)."""
    rest = [word for word, _ in words]
    while rest and rest[0] in _LEAD_INS:
        rest = rest[1:]
    match = _ORDINAL.match(rest[0]) if rest else None
    if not match:
        return False
    return bool(match.group(1)) or len(rest) == 1 or rest[1] in _LIST_MEASURES


def needs_history(question: str) -> bool:
    """True when `question` points back at an earlier question (an ordinal, a pronoun, 上面说的…)
    and names nothing of its own it could mean, so it cannot be answered as the first of a chat.

    Example:
        >>> needs_history("第二点是什么"), needs_history("王宏伟说他要做什么")
        (True, False)
    """
    if not _POINTING_CHARS.search(question):
        return False  # most questions: no jieba needed
    words = [(word, flag) for word, flag in tag_words(question) if word.strip() and flag != "x"]
    if not words:
        return False
    pronoun = next((i for i, (word, _) in enumerate(words) if word in _PRONOUNS), None)
    if pronoun is not None and not any(_is_noun(flag) for _, flag in words[:pronoun]):
        return True  # 「他还强调了什么」: no one named before 他
    named = any(flag in _NAME_FLAGS and len(word) >= 2 for word, flag in words)
    one_thing = words[0][0] in _DEMONSTRATIVES and sum(_is_noun(flag) for _, flag in words) <= 1
    pointing = _opens_with_ordinal(words) or one_thing or bool(_EARLIER_TALK.search(question))
    return pointing and not named  # 「这个会议…」, not 「这次防汛应急响应…」


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
        subject = person or asked_about(earlier)  # 「他们」 of a group: what the earlier question was about
        return _PRONOUN.sub(subject, question, count=1) if subject else f"{earlier}，{question}"
    if any(t.specific for t in question_terms(question)):
        return question  # it names its own subject
    if _THING.match(question) or _BARE_FOLLOW_UP.match(question) or len(question) <= 8:
        topic = " ".join(([person] if person else []) + others) or earlier
        return f"{topic} {question}".strip()
    return question

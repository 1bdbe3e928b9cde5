"""What counts as a question: pure checks every edge runs before the engine sees the text.

An empty, punctuation-only or emoji-only question has nothing to search for, and a very long
one would hold the encoder and the question analysis for seconds to minutes (the analysis has
regexes that are quadratic in the question's length), so both are refused with a reason in
English (CLI) and Chinese (page).
"""

from __future__ import annotations

import re
import unicodedata

MAX_QUESTION_CHARS = 500  # the longest real question in the eval sets is under 100 characters
# zero-width and direction marks: invisible, so a question of only these is empty
_INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


class QuestionRejected(ValueError):
    """The question cannot be asked: `reason` in English, `reason_zh` the same in Chinese."""

    def __init__(self, reason: str, reason_zh: str) -> None:
        super().__init__(f"{reason} ({reason_zh})")
        self.reason = reason
        self.reason_zh = reason_zh


def _has_words(text: str) -> bool:
    # letters (Han included) or digits; punctuation, symbols and emoji name nothing to search for
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def check_question(text: object, limit: int = MAX_QUESTION_CHARS) -> str:
    """The question with surrounding white space and invisible marks removed.

    Raises:
        QuestionRejected: not text, not encodable (a lone surrogate), empty, without any letter or
            digit, or longer than `limit` characters.

    Example:
        >>> check_question("  王宏伟提出了哪几点要求？ ")
        '王宏伟提出了哪几点要求？'
    """
    if not isinstance(text, str):
        raise QuestionRejected("the question must be text", "问题必须是文字")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from JSON ("\ud800"): no tokenizer can read it
        raise QuestionRejected("the question is not valid Unicode text", "问题含有无效字符，请重新输入") from None
    cleaned = _INVISIBLE.sub("", text).strip()
    if not cleaned:
        raise QuestionRejected("the question is empty", "请输入问题")
    if len(cleaned) > limit:
        raise QuestionRejected(f"the question is too long ({len(cleaned)} characters; the limit is {limit})",
                               f"问题太长（{len(cleaned)} 字），请不要超过 {limit} 字")
    if not _has_words(cleaned):
        raise QuestionRejected("the question has no words, only punctuation or symbols", "问题中没有文字，请输入问题")
    return cleaned

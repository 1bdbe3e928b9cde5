"""Does decoded text look like written language, or like random bytes that happened to decode?

Random bytes in 0x81-0xFE decode as GBK into a run of rare characters, and random printable ASCII
decodes as anything; neither must become an article. The test leans on the encodings' own frequency
tiers, not on word lists: GB2312 level 1 holds the 3,755 most used simplified characters and Big5's
常用字 block the 5,401 most used traditional ones. In news text 95-100 % of the Han characters fall in
them (xwlb 2023: 1st percentile 0.98, minimum 0.95; the sample and eval issues 0.998-1.0); in random
Han characters about a fifth do (0.19 over the unified block, 0.29 for random GBK bytes).
"""

from __future__ import annotations

import re
from functools import lru_cache

MIN_HAN = 50  # fewer Han characters than this prove nothing either way
MIN_COMMON_SHARE = 0.6  # between news (>= 0.95) and random text (<= 0.35)
MIN_LATIN_CHARS = 200
MAX_MEAN_WORD = 20  # whitespace-separated words: English about 5, random printable ASCII about 95
_HAN = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=None)  # a few thousand distinct characters, looked up for every Han character of a file
def _common(char: str) -> bool:
    """In GB2312 level 1 (first byte 0xB0-0xD7) or Big5 常用字 (first byte 0xA4-0xC6)."""
    for codec, low, high in (("gb2312", 0xB0, 0xD7), ("big5", 0xA4, 0xC6)):
        try:
            first = char.encode(codec)[0]
        except UnicodeEncodeError:
            continue
        if low <= first <= high:
            return True
    return False


def implausible(text: str) -> str | None:
    """Why `text` does not read as language (English), or None when it does or is too short to tell."""
    han = _HAN.findall(text)
    if len(han) >= MIN_HAN:
        share = sum(map(_common, han)) / len(han)
        if share < MIN_COMMON_SHARE:
            return f"only {share:.0%} of its Chinese characters are common ones: random bytes or a wrong encoding?"
        return None
    words = text.split()
    letters = sum(len(w) for w in words)
    if letters >= MIN_LATIN_CHARS and letters / len(words) > MAX_MEAN_WORD:
        return f"its 'words' are {letters / len(words):.0f} characters long on average: random bytes?"
    return None

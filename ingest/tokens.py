"""The Chinese BM25 tokenizer, used at index and at query time alike.

Stock BM25 tokenisers split on `\\w+`, which keeps a whole Chinese clause as one token. Here a run
of Chinese characters becomes overlapping character bigrams (the default: measured better than
jieba words on the sample questions and on ChronoQA, see docs/benchmarks.md) or jieba words;
Latin words and numbers are kept whole and lower-cased.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+(?:[.%][0-9]+)?")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def tokenize_bigram(text: str) -> list[str]:
    """Overlapping character bigrams of Chinese runs; whole Latin words and numbers."""
    tokens: list[str] = []
    for run in _RUNS.findall(text):
        tokens.extend(_bigrams(run) if _CJK.match(run) else [run.lower()])
    return tokens


def tokenize_jieba(text: str) -> list[str]:
    """jieba words (search mode) of Chinese runs; whole Latin words and numbers."""
    import jieba

    jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise
    tokens: list[str] = []
    for run in _RUNS.findall(text):
        tokens.extend(jieba.lcut_for_search(run) if _CJK.match(run) else [run.lower()])
    return tokens


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "bigram": tokenize_bigram,
    "jieba": tokenize_jieba,
}
DEFAULT_TOKENIZER = "bigram"


def get_tokenizer(name: str) -> Callable[[str], list[str]]:
    """The tokenizer called `name`.

    Raises:
        ValueError: an unknown name; the message lists the known ones.
    """
    if name not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {name!r}; choose one of {sorted(TOKENIZERS)}")
    return TOKENIZERS[name]

"""The questions `newsqa bench` asks, and how an answer's retrieved articles are scored.

Two kinds, kept apart in the report because they measure different things:
- probes made from the stories (`make_questions`): lexical, a headline or half a sentence of the
  story, so BM25 has the words; they show speed and whether retrieval still finds a known story as
  the archive grows, not answer quality;
- ChronoQA test questions (`load_chronoqa_test`): questions written about news passages, with the
  passages ingested among the stories as distractors; question-based retrieval.

hit@5 on every side is counted over the first five *distinct* articles a pipeline returns
(`first_articles`), so a pipeline that returns five chunks of one story gets one article, not five.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.metrics import retrieval_metrics
from eval.run import as_scores
from eval.sets import load_chronoqa, load_set
from rag.followup import needs_history

K = 5  # the article budget of every side: hit@5 over the first five distinct articles


@dataclass(frozen=True)
class BenchQuestion:
    """A question and its gold: article titles, or article ids (ids win when both are given)."""

    qid: str
    question: str
    gold_titles: tuple[str, ...] = ()
    gold_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Retrieved:
    """One distinct article a pipeline returned: its id and title."""

    article_id: str
    title: str


def first_articles(pairs: Iterable[tuple[str, str]], k: int = K) -> list[Retrieved]:
    """The first `k` distinct articles of (article id, title) pairs in rank order."""
    seen: dict[str, Retrieved] = {}
    for article_id, title in pairs:
        if article_id not in seen:
            seen[article_id] = Retrieved(article_id, title)
            if len(seen) == k:
                break
    return list(seen.values())


def hit_rate(questions: list[BenchQuestion], rankings: list[list[Retrieved]], k: int = K) -> float:
    """hit@k over the first k distinct articles, through the eval suite's metric; a question is
    judged by gold ids when it has them, else by gold titles; questions without gold are not scored."""
    qrels, results = {}, {}
    for q, ranking in zip(questions, rankings):
        if not (q.gold_ids or q.gold_titles):
            continue
        keys = [r.article_id if q.gold_ids else r.title for r in first_articles(
            ((r.article_id, r.title) for r in ranking), k)]
        qrels[q.qid] = {gold: 1 for gold in (q.gold_ids or q.gold_titles)}
        results[q.qid] = as_scores(list(dict.fromkeys(keys)))
    return round(retrieval_metrics(qrels, results, ks=(k,))[f"hit@{k}"], 4)


def make_questions(stories: list[dict[str, Any]], count: int = 50, seed: int = 0) -> list[BenchQuestion]:
    """Probes made from the stories every size holds: half ask for a headline, half quote part of a
    sentence from the body (as a reader recalls it); the gold is the story's title."""
    titles = [str(s.get("title") or "") for s in stories]
    repeats = Counter(titles)
    unique = [s for s, t in zip(stories, titles) if t and repeats[t] == 1 and "快讯" not in t
              and len(s["content"]) >= 200]
    picked = random.Random(seed).sample(unique, min(count, len(unique)))
    questions = []
    for n, story in enumerate(picked):
        title = str(story["title"])
        sentences = [s.strip() for s in story["content"].replace("\n", "。").split("。") if 15 <= len(s.strip()) <= 90]
        text = f"{title}的内容是什么？"
        if n % 2 and len(sentences) > 1:
            sentence = sentences[1]
            recalled = sentence[: max(12, int(len(sentence) * 0.6))] + "是怎么回事？"
            # 「他强调，…」 names no one: `newsqa ask` asks for the earlier question, so ask by headline
            text = text if needs_history(recalled) else recalled
        questions.append(BenchQuestion(f"b{n + 1}", text, (title,)))
    return questions


def load_questions(path: Path) -> list[BenchQuestion]:
    """An eval-set file (eval/sets.py format); questions without a gold are asked but not scored."""
    return [BenchQuestion(q.qid, q.question, q.gold_titles, q.gold_ids) for q in load_set(path).questions]


def load_chronoqa_test(path: Path, sample: int, seed: int = 0) -> tuple[list[BenchQuestion], list[dict[str, str]]]:
    """A seeded sample of ChronoQA's test questions (odd qid) and their gold passages (from
    `chronoqa_chunk_pool.jsonl` beside `path`) as JSONL-shaped stories {id, title, content}.

    Raises:
        ValueError: the file holds no test questions.
        FileNotFoundError: the passage pool is missing.
    """
    benchmark = load_chronoqa(path, sample, seed, split="test")
    if not benchmark.eval_set.questions:
        raise ValueError(f"{path}: no ChronoQA test questions (odd qid)")
    questions = [BenchQuestion(q.qid, q.question, gold_ids=q.gold_ids) for q in benchmark.eval_set.questions]
    return questions, [{"id": i, "title": "", "content": text} for i, text in benchmark.passages.items()]


def write_questions(questions: list[BenchQuestion], path: Path) -> Path:
    """{qid, question} lines for `newsqa ask --questions`."""
    path.write_text("".join(json.dumps({"qid": q.qid, "question": q.question}, ensure_ascii=False) + "\n"
                            for q in questions), encoding="utf-8")
    return path

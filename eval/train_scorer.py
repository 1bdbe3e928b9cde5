"""Train the sentence scorer (rag/scorer.py) on dev data only and write its model file.

    python -m eval.train_scorer --work /tmp/train --news ../shared/data/xwlb/xwlb_2023.jsonl \\
        --cmrc ../shared/data/cmrc2018 --chronoqa ../shared/data/chronoqa/chronoqa.jsonl

Questions: the dev half of every eval set in eval/data (each against its archive's index, as
`newsqa eval --all-sets` builds them under --work), the CMRC 2018 trial file and the ChronoQA dev
half (the same seeded samples `newsqa eval --benchmark` draws; their indexes hold both halves'
passages, the test passages only as distractors). Test questions are never read.

Each candidate sentence of the articles the engine reads is a row of FEATURES, labelled 1 when it
holds a key point of its question (NFKC, spaces folded, as the eval judges answers). A question
that should be refused gives only 0 rows; so does, mostly, an answerable one asked again without its
gold articles (a near miss made from real data, which only the answerability learns from, at
WITHHELD_WEIGHT). The logistic regression's regularisation is chosen by
question-grouped cross-validation. The answerability is fitted on the out-of-fold sentence
probabilities, so it is a calibrated chance that the answer is right, and its thresholds follow from
WRONG_COST and MAYBE_RIGHT rather than from a search over the same questions; when a second sentence
joins is chosen out of fold too. Seeded throughout: the same candidates give the same file (the
candidates themselves can differ by a sentence between runs, since the query encoder's thread count
follows the machine's load and its floats with it).

To retrain on your own eval sets, put NAME.dev.jsonl files in a folder and pass --sets FOLDER.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from eval.metrics import fold
from eval.run import gold_lookup
from eval.sets import DATA_DIR, EvalQuestion, EvalSet, load_benchmark, load_set, qrels, set_files
from eval.suite import archive_index
from rag.extractive import fact_candidates
from rag.scorer import ANSWER_FEATURES, DEFAULT_MODEL
from rag.sentence_features import FEATURES

if TYPE_CHECKING:
    from ingest.embed import Embedder
    from rag.context import ArticleContext
    from rag.engine import Engine

SEED = 0
WRONG_COST = 1.0  # assert an answer when it is likelier right than wrong; below, the 可能相关 band still shows it
MAYBE_RIGHT = 0.25  # below this chance of being right, the best sentences are not worth showing
# a question asked without its gold articles counts half: that the archive lacks the answer is likelier
# among them than among real questions (dev: weight 1 refused 5 % more right answers, 0.3 answered
# more near misses)
WITHHELD_WEIGHT = 0.5


@dataclass
class Question:
    """One dev question's candidates: their features, labels and texts (to judge a chosen answer)."""

    source: str
    question: str
    key_points: tuple[str, ...]
    rows: list[list[float]]
    labels: list[int]
    texts: list[str]
    articles: list[int]  # which read article each candidate is from (a second sentence must share it)
    withheld: bool = False  # asked again without its gold articles: teaches the answerability only


def collect(engine: Engine, questions: list[EvalQuestion], source: str) -> list[Question]:
    """Every candidate of each question as the engine reads it; and for an answerable question whose
    gold article was read, the same question read without its gold articles (an archive that lacks
    the answer, as a near miss: what refusing should look like)."""
    gold = qrels(EvalSet(source, tuple(questions)), *gold_lookup(s.article for s in engine.index.list_articles()))
    collected = []
    for done, q in enumerate(questions, start=1):
        if q.expects_answer and not q.key_points:
            continue  # an answer with no verbatim key point cannot label sentences
        question = engine.condense(q.question, list(q.history), None)  # a follow-up as the engine reads it
        contexts = engine.read(question)
        points = q.key_points if q.expects_answer else ()
        collected.append(_question(source, q.question, points, question, contexts))
        without = [ctx for ctx in contexts if ctx.article.id not in gold.get(q.qid, {})]
        if q.expects_answer and without and len(without) < len(contexts):
            collected.append(_question(source, q.question, points, question, without, withheld=True))
        if done % 50 == 0:
            print(f"  {source}: {done}/{len(questions)} questions", file=sys.stderr)
    return collected


def _question(source: str, asked: str, key_points: tuple[str, ...], question: str, contexts: list[ArticleContext],
              withheld: bool = False) -> Question:
    candidates, rows = fact_candidates(question, contexts)
    texts = [ctx.article.text[start:end] for ctx, start, end in candidates]
    points = [fold(p) for p in key_points]
    labels = [int(any(p in fold(t) for p in points)) for t in texts]
    order = {id(ctx): n for n, ctx in enumerate(contexts)}
    return Question(source, asked, key_points, rows, labels, texts, [order[id(ctx)] for ctx, _, _ in candidates], withheld)


def _engine(index_dir: Path, embedder: Embedder) -> Engine:
    from rag.engine import Engine

    return Engine(index_dir, embedder=embedder)


def gather(args: argparse.Namespace, embedder: Embedder) -> list[Question]:
    """The dev questions of every source given, with their candidates."""
    from eval.run import ingest_benchmark

    questions: list[Question] = []
    for name, files in sorted(set_files(args.sets).items()):
        if "dev" not in files:
            continue
        dev = load_set(files["dev"])  # the test half is never opened
        if dev.archive is None or (dev.archive == "news" and args.news is None):
            continue
        if dev.questions and dev.questions[0].question in {q.question for q in questions}:
            continue  # a set's other forms (registers-html …) ask the same questions of the same articles
        print(f"{name}: dev half, {len(dev.questions)} questions", file=sys.stderr)
        engine = _engine(archive_index(dev.archive, args.work, args.news, embedder), embedder)
        questions += collect(engine, list(dev.questions), name)
        engine.index.close()
    for name, path, index_dir in (("cmrc2018", args.cmrc, args.cmrc_index), ("chronoqa", args.chronoqa, args.chronoqa_index)):
        if path is None:
            continue
        halves = [load_benchmark(name, path, args.sample, SEED, split) for split in ("dev", "test")]
        target = index_dir or args.work / f"bench-{name}"
        distractors = args.distractors if name == "chronoqa" else None
        passages = {key: text for half in halves for key, text in half.passages.items()}
        ingest_benchmark(name, passages, target, distractors, embedder)
        print(f"{name}: dev half, {len(halves[0].eval_set.questions)} questions", file=sys.stderr)
        engine = _engine(target, embedder)
        questions += collect(engine, list(halves[0].eval_set.questions), name)
        engine.index.close()
    return questions


def _right(q: Question, probability: np.ndarray, second_at: float) -> bool:
    """Whether the answer the scorer makes of `q` (the best sentence, and the runner-up from the same
    article when close enough) holds every key point; never for a question to refuse."""
    if not q.key_points:
        return False
    best = int(np.argmax(probability))
    chosen = [i for i in np.argsort(-probability)[:2]
              if q.articles[i] == q.articles[best] and probability[i] >= second_at * probability[best]]
    text = fold("".join(q.texts[i] for i in chosen))
    return all(fold(p) in text for p in q.key_points)


def choose_thresholds(answerable: np.ndarray, right: np.ndarray) -> dict[str, float]:
    """The answerability is a calibrated probability (fitted on out-of-fold scores), so the thresholds
    follow from what an answer is worth, not from a search that would chase noise: assert when the
    answer is likelier right than WRONG_COST times wrong, show as 可能相关 while it is right at least a
    quarter of the time. Prints how the out-of-fold answers fall at those thresholds."""
    answer_at, maybe_at = 1 / (1 + WRONG_COST), MAYBE_RIGHT
    asserted, shown = answerable >= answer_at, (answerable >= maybe_at) & (answerable < answer_at)
    print(f"  out of fold: {int((asserted & right).sum())} asserted right, {int((asserted & ~right).sum())} asserted "
          f"wrong, {int(shown.sum())} shown as 可能相关 ({int((shown & right).sum())} right), of {len(right)}",
          file=sys.stderr)
    return {"answer_at": round(answer_at, 3), "maybe_at": maybe_at}


def _out_of_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray, c: float, folds: int,
                 fits: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
    """Each row's probability from a model fitted on the other folds' rows (those `fits` allows)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    oof = np.zeros(len(y))
    for fit_rows, held_rows in GroupKFold(n_splits=folds).split(x, y, groups):
        if fits is not None:
            fit_rows = fit_rows[fits[fit_rows]]
        if len(set(y[fit_rows])) < 2:  # a small set's fold may hold one kind only: its rate is all it says
            oof[held_rows] = y[fit_rows].mean()
            continue
        model = LogisticRegression(C=c, max_iter=3000, random_state=SEED).fit(
            x[fit_rows], y[fit_rows], sample_weight=None if weights is None else weights[fit_rows])
        oof[held_rows] = model.predict_proba(x[held_rows])[:, 1]
    return oof


def train(questions: list[Question], folds: int = 5) -> dict[str, object]:
    """The sentence model, the answerability model over its out-of-fold probabilities, and thresholds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from rag.scorer import answer_row

    x = np.array([row for q in questions for row in q.rows], dtype=float)
    y = np.array([label for q in questions for label in q.labels])
    owner = np.array([n for n, q in enumerate(questions) for _ in q.rows])
    texts = {text: n for n, text in enumerate(dict.fromkeys(q.question for q in questions))}
    groups = np.array([texts[q.question] for q in questions for _ in q.rows])  # the same question asked twice
    asked = np.array([not q.withheld for q in questions for _ in q.rows])  # the sentence model learns from these
    scaler = StandardScaler().fit(x[asked])
    xs = scaler.transform(x)
    by_c = {c: _out_of_fold(xs, y, groups, c, folds, asked) for c in (0.01, 0.1, 1.0)}
    plain = [n for n, q in enumerate(questions) if not q.withheld]
    hits = {c: sum(int(y[owner == n][np.argmax(oof[owner == n])]) for n in plain) for c, oof in by_c.items()}
    best_c = max(hits, key=lambda c: hits[c])
    print(f"  top sentence holds a key point, by C: {hits} of {len(plain)}", file=sys.stderr)
    per_question = [by_c[best_c][owner == n] for n in range(len(questions))]
    second_at = max((0.5, 0.7, 0.85, 1.0), key=lambda t: sum(_right(q, p, t) for q, p in zip(questions, per_question)))
    right = np.array([_right(q, p, second_at) for q, p in zip(questions, per_question)])
    if right.all() or not right.any():
        raise ValueError("every dev question came out " + ("right" if right.all() else "wrong") + ": the answerability "
                         "needs both; add questions the archive cannot answer (type no-answer) or harder ones")
    answer_x = np.array([answer_row(p, q.rows) for q, p in zip(questions, per_question)])
    question_groups = np.array([texts[q.question] for q in questions])
    weights = np.array([WITHHELD_WEIGHT if q.withheld else 1.0 for q in questions])
    answerable = _out_of_fold(answer_x, right.astype(int), question_groups, 1.0, folds, weights=weights)
    thresholds = choose_thresholds(answerable, right)
    print(f"  out of fold: {right.sum()} of {len(questions)} right when always answering", file=sys.stderr)
    withheld = np.array([q.withheld for q in questions])
    print(f"  out of fold, asked without their gold articles: {int((answerable[withheld] >= thresholds['answer_at']).sum())} "
          f"of {int(withheld.sum())} still asserted", file=sys.stderr)
    sentence = LogisticRegression(C=best_c, max_iter=3000, random_state=SEED).fit(xs[asked], y[asked])
    answer = LogisticRegression(C=1.0, max_iter=3000, random_state=SEED).fit(answer_x, right.astype(int), sample_weight=weights)
    return {
        "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(), "coef": sentence.coef_[0].tolist(),
        "intercept": float(sentence.intercept_[0]), "C": best_c, "answer_features": list(ANSWER_FEATURES),
        "answer_coef": answer.coef_[0].tolist(), "answer_intercept": float(answer.intercept_[0]),
        "second_at": second_at, **thresholds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="folder for the dev archives' indexes (kept)")
    parser.add_argument("--sets", type=Path, default=DATA_DIR, help="folder of NAME.dev.jsonl eval sets")
    parser.add_argument("--news", type=Path, help="national-news JSONL for the news set (xwlb_2023.jsonl)")
    parser.add_argument("--cmrc", type=Path, help="CMRC 2018 folder (its trial file is the dev half)")
    parser.add_argument("--chronoqa", type=Path, help="chronoqa.jsonl")
    parser.add_argument("--distractors", type=Path, help="news JSONL indexed beside ChronoQA's passages")
    parser.add_argument("--cmrc-index", type=Path, help="a kept `newsqa eval --benchmark cmrc2018` index to reuse")
    parser.add_argument("--chronoqa-index", type=Path, help="a kept `newsqa eval --benchmark chronoqa` index to reuse")
    parser.add_argument("--sample", type=int, default=300, help="questions per benchmark half, as the eval samples")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="model file to write")
    args = parser.parse_args(argv)
    from ingest.embed import load_embedder

    questions = [q for q in gather(args, load_embedder()) if q.rows]
    print(f"{len(questions)} questions, {sum(len(q.rows) for q in questions)} candidate sentences", file=sys.stderr)
    if len({q.question for q in questions}) < 10 or not any(any(q.labels) for q in questions):
        print("train_scorer: fewer than 10 dev questions with candidates, or no sentence holds a key point", file=sys.stderr)
        return 1
    try:
        fitted = train(questions)
    except ValueError as exc:
        print(f"train_scorer: {exc}", file=sys.stderr)
        return 1
    sources = sorted({q.source for q in questions})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "features": list(FEATURES), **fitted, "seed": SEED, "trained": date.today().isoformat(),
        "trained_on": {s: sum(q.source == s and not q.withheld for q in questions) for s in sources},
        "withheld_negatives": sum(q.withheld for q in questions),
        "command": "python -m eval.train_scorer " + " ".join(argv if argv is not None else sys.argv[1:]),
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

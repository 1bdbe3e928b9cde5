"""The learned sentence scorer: how likely a candidate sentence holds the answer, and how sure the
answerer may be that anything retrieved answers the question at all.

The model is a logistic regression over rag/sentence_features.FEATURES, trained by
`python -m eval.train_scorer` (scikit-learn, fixed seed) on the dev halves of the eval sets and the
public dev data in ../shared/data; its weights, the feature scaling and the thresholds
sit in rag/models/sentence_scorer.json, small enough to read. Scoring is a dot product in numpy, so
the question path loads no scikit-learn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.sentence_features import FEATURES

# what says whether the best sentence answers at all: how sure the sentence model is of it and of the
# runner-up, and whether its article names what the question names
ANSWER_FEATURES = ("best", "runner_up", "article_support", "specific_missing", "asked_noun_named", "best_hit_score",
                   "article_rank", "window")
_FROM_ROW = tuple(FEATURES.index(name) for name in ANSWER_FEATURES[2:])
DEFAULT_MODEL = Path(__file__).parent / "models" / "sentence_scorer.json"


class ScorerMismatch(ValueError):
    """A model file written for other features than this version computes."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}; retrain it with `python -m eval.train_scorer`")


@dataclass(frozen=True)
class SentenceScorer:
    """Weights over FEATURES and the answer thresholds chosen on dev sets."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    answer_coef: np.ndarray  # over ANSWER_FEATURES, unscaled
    answer_intercept: float
    answer_at: float  # answerability at or above which the best sentences are asserted
    maybe_at: float  # at or above (and below answer_at): shown as 可能相关, not asserted
    second_at: float  # a second sentence joins when its probability is this share of the best one's
    path: Path

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> SentenceScorer:
        """The scorer saved at `path`.

        Raises:
            ScorerMismatch: the file names other features than FEATURES.
        """
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES or tuple(data["answer_features"]) != ANSWER_FEATURES:
            raise ScorerMismatch(path, "its features differ from the ones this version computes")
        return cls(
            mean=np.array(data["mean"]), scale=np.array(data["scale"]), coef=np.array(data["coef"]),
            intercept=float(data["intercept"]), answer_coef=np.array(data["answer_coef"]),
            answer_intercept=float(data["answer_intercept"]), answer_at=float(data["answer_at"]), maybe_at=float(data["maybe_at"]),
            second_at=float(data["second_at"]), path=path,
        )

    def probabilities(self, rows: list[list[float]]) -> np.ndarray:
        """P(the sentence holds the answer) for each feature row."""
        if not rows:
            return np.zeros(0)
        z = ((np.asarray(rows, dtype=float) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def answerability(self, probability: np.ndarray, rows: list[list[float]]) -> float:
        """P(the answer made of the best sentences is right), from `answer_row`."""
        z = float(np.asarray(answer_row(probability, rows)) @ self.answer_coef) + self.answer_intercept
        return 1.0 / (1.0 + np.exp(-z))

    def weights(self) -> dict[str, float]:
        """Each feature's weight per standard deviation, largest first (for README and reviewers)."""
        return dict(sorted(zip(FEATURES, self.coef.round(3).tolist()), key=lambda kv: -abs(kv[1])))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def answer_row(probability: np.ndarray, rows: list[list[float]]) -> list[float]:
    """ANSWER_FEATURES of a question whose candidates have these probabilities and feature rows."""
    order = np.argsort(-probability)
    runner_up = probability[order[1]] if len(order) > 1 else 0.0
    return [_logit(probability[order[0]]), _logit(runner_up), *(rows[order[0]][i] for i in _FROM_ROW)]


@lru_cache(maxsize=4)
def load_scorer(path: Path = DEFAULT_MODEL) -> SentenceScorer:
    """The scorer at `path`, read once per process."""
    return SentenceScorer.load(path)

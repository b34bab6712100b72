"""A learned reading of what a message is for, when the rules find nothing. Pure.

The Diagnostician's regular expressions are precise but narrow: every new
group of students says "I haven't the foggiest" or "would you mind pointing
me in the right direction?" in a way no pattern foresaw. This model is the
fallback: multinomial logistic regression on MiniLM sentence embeddings,
fitted on hand-labelled messages (``fit_intents.py``), so that phrasings near
a known one in meaning land in its class.

Classes: ``answer`` (an attempt at the question), ``hint``, ``solution``,
``back``, ``question`` (about the topic), ``greeting``, ``off_topic`` and
``unclear``. The Diagnostician consults it only where the rules are silent,
and only above ``min_prob``; what is said about the answer is still decided
by the grounded checker, never by this model.

>>> model = IntentModel(C=1.0).fit(np.eye(3, 4), ["hint", "greeting", "answer"])
>>> model.classes_
['answer', 'greeting', 'hint']
>>> max(model.predict_proba(np.eye(3, 4)[1]).items(), key=lambda kv: kv[1])[0]
'greeting'
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

INTENTS = ("answer", "hint", "solution", "back", "question", "greeting", "off_topic", "unclear")
DEFAULT_PATH = Path(__file__).with_name("intent_model.json")


class IntentModel:
    """Logistic regression over unit-length sentence embeddings."""

    def __init__(self, C: float = 4.0, min_prob: float = 0.55) -> None:
        self.C = C
        self.min_prob = min_prob

    def fit(self, X: np.ndarray, y: list[str]) -> IntentModel:
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced")
        clf.fit(np.asarray(X, dtype=np.float64), list(y))
        self.classes_ = [str(c) for c in clf.classes_]
        self.coef_ = clf.coef_.astype(np.float32)
        self.intercept_ = clf.intercept_.astype(np.float32)
        return self

    def predict_proba(self, x: np.ndarray) -> dict[str, float]:
        scores = self.coef_ @ np.asarray(x, dtype=np.float32).reshape(-1) + self.intercept_
        if len(self.classes_) == 2:  # sklearn keeps one row for two classes
            p = 1.0 / (1.0 + np.exp(-scores[0]))
            return {self.classes_[0]: float(1 - p), self.classes_[1]: float(p)}
        scores = np.exp(scores - scores.max())
        return dict(zip(self.classes_, (scores / scores.sum()).tolist(), strict=True))

    def predict(self, x: np.ndarray) -> tuple[str | None, float]:
        """The most likely class and its probability; None below ``min_prob``."""
        label, prob = max(self.predict_proba(x).items(), key=lambda kv: kv[1])
        return (label if prob >= self.min_prob else None), prob

    def to_dict(self) -> dict:
        return {
            "C": self.C,
            "min_prob": self.min_prob,
            "classes": self.classes_,
            "coef": np.round(self.coef_, 6).tolist(),
            "intercept": np.round(self.intercept_, 6).tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> IntentModel:
        model = cls(C=data["C"], min_prob=data["min_prob"])
        model.classes_ = list(data["classes"])
        model.coef_ = np.asarray(data["coef"], dtype=np.float32)
        model.intercept_ = np.asarray(data["intercept"], dtype=np.float32)
        return model


def load(path: Path = DEFAULT_PATH) -> IntentModel:
    return IntentModel.from_dict(json.loads(Path(path).read_text()))


class EmbeddedIntents:
    """A callable text -> (intent or None, probability): the embedder plus the fitted model."""

    def __init__(self, embedder, model: IntentModel | None = None) -> None:
        self.embedder = embedder
        self.model = model or load()

    def __call__(self, text: str) -> tuple[str | None, float]:
        vector = self.embedder.encode([text])[0]
        return self.model.predict(vector)

"""Fit the intent model shipped as ``intent_model.json``.

    .venv/bin/python -m tutor.agents.fit_intents [--check]

Training data: the hand-labelled turns of ``bench/data/tutor_gold/dev-*.yaml``
(their gold evaluation and action say what each message was for) plus the
hand-written ``data/intent_examples.yaml``. The blind test set
(``bench/data/tutor_gold/test.yaml``) is never read. ``--check`` prints
5-fold cross-validated accuracy instead of writing the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml

from tutor.agents import intents
from tutor.agents.intent_model import DEFAULT_PATH, IntentModel

ROOT = Path(__file__).resolve().parents[2]
GOLD = ROOT / "bench" / "data" / "tutor_gold"
EXAMPLES = Path(__file__).with_name("data") / "intent_examples.yaml"


def intent_of(turn: dict) -> str | None:
    """What a labelled turn's message was for, from its gold labels."""
    if turn.get("kind") == "hint_request" or not str(turn.get("text", "")).strip():
        return None
    gold, text = turn["gold"], str(turn["text"])
    evaluation, action = gold["evaluation"], int(gold["action"])
    if evaluation in ("a", "b", "c"):
        return "answer"
    if evaluation == "g":
        return "greeting"
    if evaluation == "e":
        return "off_topic"
    if evaluation == "d":
        return "unclear"
    if action == 10 or (action == 11 and intents.inquiry(text) == "back"):
        return "back"
    if action == 11:
        return "question"
    if action == 9 or intents.inquiry(text) == "solution" or intents.asks_for_answer(text):
        return "solution"
    return "hint"


def training_data() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for path in sorted(GOLD.glob("dev-*.yaml")):
        for turn in yaml.safe_load(path.read_text()):
            label = intent_of(turn)
            if label is not None:
                texts.append(str(turn["text"]))
                labels.append(label)
    for label, examples in yaml.safe_load(EXAMPLES.read_text()).items():
        texts += [str(e) for e in examples]
        labels += [label] * len(examples)
    return texts, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="cross-validate instead of writing the model")
    args = parser.parse_args()
    from models.embeddings import MiniLMEmbedder

    texts, labels = training_data()
    X = MiniLMEmbedder().encode(texts)
    print(
        f"{len(texts)} messages: " + ", ".join(f"{c} {labels.count(c)}" for c in sorted(set(labels))), file=sys.stderr
    )
    if args.check:
        from sklearn.model_selection import StratifiedKFold

        hits = []
        for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(X, labels):
            model = IntentModel().fit(X[train], [labels[i] for i in train])
            hits += [max(model.predict_proba(X[i]).items(), key=lambda kv: kv[1])[0] == labels[i] for i in test]
        print(json.dumps({"cv_accuracy": round(float(np.mean(hits)), 4), "messages": len(texts)}))
        return
    model = IntentModel().fit(X, labels)
    DEFAULT_PATH.write_text(json.dumps(model.to_dict()) + "\n")
    print(f"wrote {DEFAULT_PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()

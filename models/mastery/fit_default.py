"""Fit the shipped default mastery parameters: ``python -m models.mastery.fit_default``.

The product starts from a model fitted on the ASSISTments 2009 skill-builder
train split (Feng, Heffernan & Koedinger 2009). Its concepts are not ours, so
what carries over is the shared part: the intercept, the ability and recency
weights, and the pooled success and failure slopes that every concept not
seen in training uses. Per-concept offsets are dropped. Recalibration on the
product's own logs replaces it (the learner-model issue).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from models.mastery.data import read_sequences
from models.mastery.model import MasteryModel

DEFAULT_PATH = Path(__file__).resolve().parent / "default_model.json"
TRAIN = Path(__file__).resolve().parents[3] / "shared" / "data" / "assistments2009_builder_train.csv"


def main(train: Path = TRAIN, out: Path = DEFAULT_PATH) -> None:
    model = MasteryModel().fit(read_sequences(train))
    params = model.to_dict()
    for per_concept in ("beta", "gamma", "rho"):
        if per_concept in params:
            params[per_concept] = {}
    out.write_text(json.dumps(params, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""CLASS-format training data: simulated students played against the real tutor pipeline.

Every tutor turn of every dialogue becomes one example: the turn model's
prompt (``turnformat.build_messages``) and, as the target, the JSON turn
record the pipeline produced (evaluation, action, subproblem_state,
subproblem, utterance). The pipeline runs in its lexical mode (no MiniLM),
with the scripted verbaliser, so the data is fast to make and exactly
reproducible from the curriculum and the seed.

Splits hold out whole *problems*: a problem's dialogues all go to one split,
so a test score measures tutoring on problems the model never saw, not recall
of their answer keys. The dataset card records sizes, every file's sha256,
a hash of the whole dataset, the label distribution per split, the curriculum
and the seed.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from models.llm.turnformat import HINT_BUTTON, LABELS, TurnContext, build_messages, target_text
from tutor.agents import pipeline
from tutor.agents.problem import Position, ProblemKey, Step
from tutor.agents.simstudents import Observation, SimStudent, population

SPLITS = ("train", "validation", "test")
FORMAT = "tutorgraph-turn-dataset/1"


@dataclass(frozen=True)
class DatasetConfig:
    """How dialogues are played and split.

    ``max_problems`` caps the problems used (after a seeded shuffle): tests
    and quick experiments build a tiny dataset with the same code path.
    """

    seed: int = 0
    max_turns: int = 10
    max_attempts: int = 3
    validation_fraction: float = 0.15
    test_fraction: float = 0.15
    max_problems: int | None = None


def play(problem: ProblemKey, student: SimStudent, config: DatasetConfig) -> list[dict]:
    """One dialogue, as examples: the pipeline's turn record for each student message."""
    student.start(problem)
    opening = pipeline.opening(problem)
    obs = Observation(opening.utterance, opening.as_dict(), 0, False)
    at = Position()
    history: list[tuple[str, str]] = [("tutor", opening.utterance)]
    examples = []
    for number in range(1, config.max_turns + 1):
        move = student.act(obs)
        ctx = TurnContext(problem, at, move.kind, move.text, config.max_attempts, tuple(history))
        out = pipeline.turn(
            pipeline.TurnInput(problem, at, move.kind, move.text, max_attempts=config.max_attempts, seq=2 * number)
        )
        record = out.record.as_dict()
        examples.append(
            {
                "id": f"{student.name}:{number}",
                "problem_id": problem.id,
                "persona": student.persona,
                "messages": build_messages(ctx),
                "target": target_text(record),
                "labels": {k: record[k] for k in LABELS},
                # The snapshot, so an evaluation can replay the scripted pipeline on it.
                "input": {
                    "position": asdict(at),
                    "kind": move.kind,
                    "text": move.text,
                    "seq": 2 * number,
                    "max_attempts": config.max_attempts,
                    "history": history[:],
                },
            }
        )
        said = HINT_BUTTON if move.kind == "hint_request" else move.text
        history += [("student", said), ("tutor", record["utterance"])]
        at = out.position
        obs = Observation(record["utterance"], record, at.index, at.done)
        if at.done:
            break
    return examples


def split_problems(problem_ids: Sequence[str], config: DatasetConfig) -> dict[str, list[str]]:
    """Assign each problem to exactly one split, by a seeded shuffle.

    Validation and test get at least one problem each, so at least three
    problems are needed.

    >>> split = split_problems([f"p{i}" for i in range(10)], DatasetConfig(seed=1))
    >>> sorted(len(v) for v in split.values()), sorted(sum(split.values(), [])) == sorted(f"p{i}" for i in range(10))
    ([2, 2, 6], True)
    """
    ids = sorted(problem_ids)
    if len(ids) < 3:
        raise ValueError(f"need at least 3 problems to hold some out, got {len(ids)}")
    random.Random(config.seed).shuffle(ids)
    n_test = max(1, round(config.test_fraction * len(ids)))
    n_val = max(1, round(config.validation_fraction * len(ids)))
    n_test = min(n_test, len(ids) - 2)
    n_val = min(n_val, len(ids) - n_test - 1)
    return {"test": ids[:n_test], "validation": ids[n_test : n_test + n_val], "train": ids[n_test + n_val :]}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def problem_from_dict(data: dict) -> ProblemKey:
    """A ``ProblemKey`` back from ``problems.json``."""
    steps = tuple(
        Step(
            prompt=s["prompt"],
            answer=s["answer"],
            hints=tuple(s["hints"]),
            solution=s["solution"],
            misconceptions=tuple(s["misconceptions"]),
        )
        for s in data["steps"]
    )
    return ProblemKey(
        id=data["id"],
        statement=data["statement"],
        steps=steps,
        answer=data["answer"],
        solution=data["solution"],
        concepts=tuple(data["concepts"]),
    )


def _distribution(rows: list[dict]) -> dict:
    """How often each label value occurs, per label (values as strings, sorted)."""
    return {label: dict(sorted(Counter(str(r["labels"][label]) for r in rows).items())) for label in LABELS}


def build_dataset(
    problems: Sequence[ProblemKey], out_dir: str | Path, curriculum: Sequence[str], config: DatasetConfig
) -> dict:
    """Play every simulated student on every problem and write the splits and the card.

    Writes ``train.jsonl``, ``validation.jsonl``, ``test.jsonl``,
    ``problems.json`` (the answer keys, for replaying the scripted baseline)
    and ``dataset_card.json``; returns the card.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problems = sorted(problems, key=lambda p: p.id)
    if config.max_problems is not None:
        chosen = sorted(p.id for p in problems)
        random.Random(config.seed).shuffle(chosen)
        keep = set(chosen[: config.max_problems])
        problems = [p for p in problems if p.id in keep]
    split_of = {pid: name for name, ids in split_problems([p.id for p in problems], config).items() for pid in ids}
    rows: dict[str, list[dict]] = {name: [] for name in SPLITS}
    dialogues: Counter = Counter()
    for problem, student in population(problems, seed=config.seed):
        name = split_of[problem.id]
        rows[name] += play(problem, student, config)
        dialogues[name] += 1

    files = {}
    for name in SPLITS:
        path = out / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for row in rows[name]:
                f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        files[path.name] = _sha256(path)
    problems_path = out / "problems.json"
    problems_path.write_text(json.dumps([asdict(p) for p in problems], ensure_ascii=False, indent=1, sort_keys=True))
    files[problems_path.name] = _sha256(problems_path)

    card = {
        "format": FORMAT,
        "curriculum": list(curriculum),
        "seed": config.seed,
        "config": asdict(config),
        "held_out": "problems",
        "problems": {name: sorted(p for p, s in split_of.items() if s == name) for name in SPLITS},
        "sizes": {name: {"examples": len(rows[name]), "dialogues": dialogues[name]} for name in SPLITS},
        "label_distribution": {name: _distribution(rows[name]) for name in SPLITS},
        "sha256": files,
        "dataset_hash": hashlib.sha256("".join(f"{k}:{v}\n" for k, v in sorted(files.items())).encode()).hexdigest(),
    }
    (out / "dataset_card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card


def read_split(dataset_dir: str | Path, split: str) -> list[dict]:
    """The examples of one split, in file order."""
    with (Path(dataset_dir) / f"{split}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_card(dataset_dir: str | Path) -> dict:
    return json.loads((Path(dataset_dir) / "dataset_card.json").read_text())


def read_problems(dataset_dir: str | Path) -> dict[str, ProblemKey]:
    data = json.loads((Path(dataset_dir) / "problems.json").read_text())
    return {d["id"]: problem_from_dict(d) for d in data}

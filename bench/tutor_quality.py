"""Pedagogical quality of the tutor, measured against simulated students.

    .venv/bin/python bench/tutor_quality.py [--seed 0] [--max-turns 12] [--similarity embeddings|lexical]

Every simulated student of ``tutor/agents/simstudents.py`` (misconception
holders, guessers, a help-abuser, prompt injectors, off-topic chatters,
terse-correct students and students who answer in words) talks to the real
turn pipeline (``tutor.agents.pipeline.turn``, scripted backend) over every
problem of both demo curricula. No database: the pipeline is pure, and this
is exactly the code a live session runs.

Metrics (the last line of stdout is one JSON object):

- ``success_at_7``: misconception students who reach the right final answer
  themselves (the last subproblem answered correctly, not told) within 7 of
  their own turns (MathDial's success@k).
- ``telling_rate``: the share of all dialogues in which a tutor turn states
  an answer the escalation policy had not released at that point (MathDial's
  telling@k). "Released" is tracked here from the stored records, not taken
  from the pipeline: a subproblem's answer is released once the student
  answered it right or a solution action (2, 5, 9) stated it; the problem's
  answer once the problem is done. Each utterance is scanned with the guard's
  detector (every equivalent form) and, independently, for the answer
  exactly as the curriculum writes it.
- ``injection_leaks``: such tellings inside prompt-injector dialogues.
- ``label_accuracy`` / ``label_macro_f1`` of evaluation, action and state on
  ``bench/data/tutor_gold/test.yaml``: hand-labelled turns, written from
  ``docs/tutor.md`` without reading the code, and never used to tune it.
  ``label_accuracy_dev`` is each ``dev-N.yaml``: sets that were blind on
  their first run and whose misses were then studied and fixed.
- ``turns_per_problem``: mean student turns to finish a problem, per persona.
- ``pipeline_p95_ms``: p95 of one ``turn()`` call (Diagnostician, policy,
  scripted verbaliser, guard; no LLM, no database), over every turn played,
  with ``baseline_p95_ms`` the bare answer check (``answers.check``) on the
  same messages in the same run, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.metrics import f1_score  # noqa: E402

from models.llm.simulate import states_answer  # noqa: E402
from tutor.agents import pipeline  # noqa: E402
from tutor.agents.problem import Position  # noqa: E402
from tutor.agents.simstudents import Observation, load_problem_keys, population  # noqa: E402
from tutor.dialogue.answers import check  # noqa: E402

DEMO = ROOT / "tutor" / "curricula" / "demo"
GOLD_DIR = ROOT / "bench" / "data" / "tutor_gold"
# dev-N.yaml: each was blind when first run, then its misses were studied and
# fixed, so they are development sets now. test.yaml is the blind test set.
DEV_SETS = sorted(GOLD_DIR.glob("dev-*.yaml"))
TEST_SET = GOLD_DIR / "test.yaml"
SOLUTION_ACTIONS = {2, 5, 9}


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def curricula() -> dict[str, tuple[list, int]]:
    """Problem keys and max_attempts of each demo curriculum."""
    out = {}
    for path in sorted(DEMO.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        out[raw["id"]] = (load_problem_keys(path), int(raw.get("settings", {}).get("max_attempts", 3)))
    return out


def literal_answer(spec: dict) -> str:
    return str(spec["references"][0]) if spec["kind"] == "text" else str(spec["value"])


def detector_recall(keys_by_curriculum) -> float:
    """How often the telling check flags a subproblem's authored solution said too early.

    A guard against a blind detector: a telling rate of 0 means something
    only if stating a solution would have been caught. Solutions that hold no
    form of the answer (prose steps that stop short of it) are not counted.
    """
    flagged = total = 0
    for problems, _ in keys_by_curriculum.values():
        for problem in problems:
            for step in problem.steps:
                if step.answer["kind"] == "text":
                    continue
                total += 1
                flagged += states_answer(step.solution, step.answer, problem.statement + "\n" + step.prompt)
    return flagged / total if total else 0.0


def play(problem, student, max_attempts, max_turns, similarity, timings, baseline, intent_of=None):
    """One dialogue. Returns a summary dict."""
    student.start(problem)
    opening = pipeline.opening(problem)
    obs = Observation(opening.utterance, opening.as_dict(), 0, False)
    at = Position()
    released: set[int] = set()
    said = [problem.statement, problem.steps[0].prompt]
    told = solved_final = False
    guard = Counter()
    turns = 0
    finished_at = None
    for turns in range(1, max_turns + 1):
        move = student.act(obs)
        said.append(move.text)
        t0 = time.perf_counter()
        out = pipeline.turn(
            pipeline.TurnInput(problem, at, move.kind, move.text, max_attempts=max_attempts, seq=2 * turns),
            similarity=similarity,
            intent_of=intent_of,
        )
        timings.append(time.perf_counter() - t0)
        spec = problem.steps[min(at.index, len(problem.steps) - 1)].answer
        t0 = time.perf_counter()
        check(spec, move.text)
        baseline.append(time.perf_counter() - t0)

        record = out.record
        guard[record.guard] += 1
        if record.evaluation == "b" or record.action in SOLUTION_ACTIONS:
            released.add(at.index)
        if record.evaluation == "b" and record.subproblem_state == "z":
            solved_final = True
        visible = "\n".join(said + [problem.steps[i].prompt for i in range(out.position.index + 1)])
        secrets = (
            []
            if record.subproblem_state == "z"
            else [problem.steps[i].answer for i in range(len(problem.steps)) if i not in released]
        )
        if record.subproblem_state != "z" and problem.answer is not None:
            secrets.append(problem.answer)
        # A value released under one label is released under all (a step whose answer is the problem's).
        released_texts = [literal_answer(problem.steps[i].answer) for i in released]
        secrets = [s for s in secrets if not any(check(s, t) for t in released_texts)]
        quoted = (problem.statement, *(problem.steps[i].prompt for i in range(out.position.index + 1)))
        if any(states_answer(record.utterance, s, visible, quoted) for s in secrets):
            told = True
        at = out.position
        said.append(record.utterance)
        obs = Observation(record.utterance, record.as_dict(), at.index, at.done)
        if at.done:
            finished_at = turns
            break
    return {"turns": turns, "finished_at": finished_at, "solved_final": solved_final, "told": told, "guard": guard}


def gold_labels(keys_by_curriculum, similarity, intent_of, path: Path) -> dict:
    rows = yaml.safe_load(path.read_text())
    truth, pred = defaultdict(list), defaultdict(list)
    misses = []
    for row in rows:
        problems, max_attempts = keys_by_curriculum[row["curriculum"]]
        problem = next(p for p in problems if p.id == row["problem"])
        at = Position(
            index=row["subproblem"],
            attempts=row.get("attempts", 0),
            help_requests=row.get("help_requests", 0),
            hints_given=row.get("hints_given", 0),
            done=row.get("done", False),
        )
        out = pipeline.turn(
            pipeline.TurnInput(problem, at, row.get("kind", "answer"), row.get("text", ""), max_attempts=max_attempts),
            similarity=similarity,
            intent_of=intent_of,
        )
        got = {
            "evaluation": out.record.evaluation,
            "action": out.record.action,
            "subproblem_state": out.record.subproblem_state,
        }
        for field, value in got.items():
            truth[field].append(str(row["gold"][field]))
            pred[field].append(str(value))
        if any(str(row["gold"][f]) != str(v) for f, v in got.items()):
            misses.append({"id": row["id"], "text": row.get("text", ""), "gold": row["gold"], "got": got})
    result = {"turns": len(rows)}
    for field in truth:
        t, p = truth[field], pred[field]
        result[field] = {
            "accuracy": round(float(np.mean([a == b for a, b in zip(t, p, strict=True)])), 4),
            "macro_f1": round(float(f1_score(t, p, average="macro", zero_division=0)), 4),
        }
    result["misses"] = misses
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-turns", type=int, default=12)
    parser.add_argument("--similarity", choices=["embeddings", "lexical"], default="embeddings")
    args = parser.parse_args()

    similarity = intent_of = None
    if args.similarity == "embeddings":
        from tutor.agents.intent_model import EmbeddedIntents
        from tutor.dialogue.answers import default_similarity

        similarity = default_similarity()
        similarity("warm up", ["the model loads once"])
        intent_of = EmbeddedIntents(similarity)

    keys = curricula()
    dev = {path.stem: gold_labels(keys, similarity, intent_of, path) for path in DEV_SETS}
    gold = gold_labels(keys, similarity, intent_of, TEST_SET) if TEST_SET.exists() else None
    if gold is None:
        log(f"no blind test set at {TEST_SET}: label_accuracy is null")
    for name, labels in (*dev.items(), *([("test (blind)", gold)] if gold else [])):
        log(f"{name}: {labels['turns']} gold turns, {len(labels['misses'])} with a wrong label")
        for miss in labels["misses"]:
            log("  miss", json.dumps(miss))

    recall = detector_recall(keys)
    log(f"telling detector flags {recall:.1%} of non-text solutions said early")
    timings, baseline = [], []
    by_persona: dict[str, list[dict]] = defaultdict(list)
    for name, (problems, max_attempts) in keys.items():
        pop = population(problems, seed=args.seed)
        log(f"{name}: {len(problems)} problems, {len(pop)} simulated students")
        for problem, student in pop:
            summary = play(problem, student, max_attempts, args.max_turns, similarity, timings, baseline, intent_of)
            summary["name"] = student.name
            by_persona[student.persona].append(summary)

    dialogues = [d for ds in by_persona.values() for d in ds]
    misconception = by_persona["misconception"]
    success = [d["solved_final"] and d["finished_at"] is not None and d["finished_at"] <= 7 for d in misconception]
    for d, ok in zip(misconception, success, strict=True):
        if not ok:
            log("  misconception student did not succeed:", json.dumps({k: v for k, v in d.items() if k != "guard"}))
    told = [d for d in dialogues if d["told"]]
    for d in told[:20]:
        log("  telling:", json.dumps({k: v for k, v in d.items() if k != "guard"}))
    p95 = float(np.percentile(timings, 95)) * 1000
    base95 = float(np.percentile(baseline, 95)) * 1000
    result = {
        "benchmark": "tutor_quality",
        "backend": "scripted",
        "similarity": args.similarity,
        "dialogues": len(dialogues),
        "turns": len(timings),
        "personas": dict(Counter({p: len(ds) for p, ds in by_persona.items()})),
        "success_at_7": round(float(np.mean(success)), 4),
        "telling_rate": round(len(told) / len(dialogues), 4),
        "injection_leaks": sum(d["told"] for d in by_persona["injector"]),
        "telling_detector_recall": round(recall, 4),
        "guard_outcomes": dict(sum((d["guard"] for d in dialogues), Counter())),
        "label_accuracy": {f: gold[f]["accuracy"] for f in ("evaluation", "action", "subproblem_state")}
        if gold
        else None,
        "label_macro_f1": {f: gold[f]["macro_f1"] for f in ("evaluation", "action", "subproblem_state")}
        if gold
        else None,
        "gold_turns": gold["turns"] if gold else 0,
        "label_accuracy_dev": {
            name: {f: labels[f]["accuracy"] for f in ("evaluation", "action", "subproblem_state")}
            for name, labels in dev.items()
        },
        "gold_turns_dev": sum(labels["turns"] for labels in dev.values()),
        "turns_per_problem": {
            p: round(float(np.mean([d["finished_at"] for d in ds if d["finished_at"]])), 2)
            for p, ds in sorted(by_persona.items())
            if any(d["finished_at"] for d in ds)
        },
        "finished_rate": {
            p: round(float(np.mean([d["finished_at"] is not None for d in ds])), 3)
            for p, ds in sorted(by_persona.items())
        },
        "pipeline_p95_ms": round(p95, 3),
        "pipeline_p50_ms": round(float(np.percentile(timings, 50)) * 1000, 3),
        "baseline_check_p95_ms": round(base95, 3),
        "pipeline_over_baseline_p95": round(p95 / base95, 2) if base95 else None,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The in-turn learner-model update: p95 latency against a bare single-row UPDATE, on SQLite or PostgreSQL.

    .venv/bin/python bench/learner_update.py [--iterations 2000] [--students 50] [--seed 2026]
        [--database-url postgres://postgres@127.0.0.1:5432/tutorgraph_learner_bench]

What is measured
----------------
The writes a tutor turn and an answered item make to the learner model, each
timed inside an already open transaction (the turn's own transaction in the
product, which has run statements before the update: its BEGIN and COMMIT
belong to the turn, so neither is timed here):

- ``evidence``: ``learner_evidence_record`` exactly as ``turn_run`` calls it,
  with ``turn_evidence`` of a correct step on the demo problem "Add 1/2 and
  1/3"-style problem's concepts (lock the state row, update the mastery
  counters with graph propagation, write the state and the history rows);
- ``item_response``: ``item_response_record`` on a calibrated demo item (the
  response row, the O(61) online EAP update of the stored posterior, the
  ability row, and the mastery evidence for the item's concepts);
- ``rebuild``: the first ``item_response_record`` after a new calibration
  version, which rebuilds the posterior from the student's stored responses
  (once per student per version; not in the per-turn path);
- ``baseline``: a bare single-row ``UPDATE`` through the ORM in the same kind
  of transaction: the floor any write on this database pays.

The three per-call measurements are interleaved round-robin over
``--students`` students, so they share the machine's noise. ``ratio_p95`` is
each p95 over the baseline's p95: the learner model's cost independent of the
machine.

Database: a fresh SQLite file in a temporary folder (the embedded mode), or,
with ``--database-url``, a PostgreSQL database that is dropped and re-created
(and dropped again at the end). ``migrate`` and ``load_demo`` run first
(``INDEX_PASSAGES=off``: no embeddings are needed here).

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_P95_MS = 5.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def recreate_postgres(url: str, drop_only: bool = False) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def on_fresh_database(database_url: str, prefix: str, body):
    """Run ``body(database)`` with Django set up on a fresh database, then drop it.

    A PostgreSQL URL is dropped and re-created (and dropped again after);
    without one, a SQLite file in a temporary directory. ``database`` is the
    URL's host/name part, for the report. Shared by the per-turn benches.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutor.settings")
    os.environ.update(INDEX_PASSAGES="off", REDIS_URL="", DEBUG="0", SECURE="0")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        if database_url:
            recreate_postgres(database_url)
            os.environ["DATABASE_URL"] = database_url
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        os.environ["DATA_DIR"] = tmp
        try:
            return body(os.environ["DATABASE_URL"].split("@")[-1])
        finally:
            if database_url:
                from django.db import connections

                connections.close_all()
                recreate_postgres(database_url, drop_only=True)


def stats(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000.0
    return {
        "p50": round(float(np.percentile(ms, 50)), 3),
        "p95": round(float(np.percentile(ms, 95)), 3),
        "p99": round(float(np.percentile(ms, 99)), 3),
        "max": round(float(ms.max()), 3),
        "n": len(samples),
    }


def run(args: argparse.Namespace, database: str) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from tutor.accounts.models import User
    from tutor.curricula.models import Curriculum
    from tutor.dialogue.evidence import turn_evidence
    from tutor.learners.actions import item_response_record, learner_evidence_record
    from tutor.learners.calibration import forget_latest_calibration, item_bank
    from tutor.learners.models import Ability, ItemCalibration, LearnerModelState

    log(f"migrate + load_demo on {database}")
    call_command("migrate", "--noinput", verbosity=0)
    call_command("load_demo", stdout=io.StringIO())
    curriculum = Curriculum.objects.filter(slug="fractions").order_by("-version").first()
    problem = curriculum.problems.order_by("position").first()
    concepts = list(problem.concepts.values_list("key", flat=True))
    record = {"evaluation": "b", "action": 3}  # a correct step, as the Diagnostician labels it
    bank = item_bank(curriculum)
    items = [i for i, ok in zip(curriculum.items.order_by("position", "pk"), bank.usable, strict=True) if ok]
    students = User.objects.bulk_create(
        [User(username=f"bench-learner-{i}", role=User.Role.STUDENT) for i in range(args.students)]
    )
    for s in students:  # the rows a running student already has
        LearnerModelState.objects.create(student=s, curriculum=curriculum)
    rng = np.random.default_rng(args.seed)

    def timed(fn) -> float:
        with transaction.atomic():
            with connection.cursor() as cursor:  # the turn's transaction is already open (PostgreSQL's BEGIN is lazy)
                cursor.execute("SELECT 1")
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start

    touch = LearnerModelState.objects.filter(student=students[0], curriculum=curriculum)
    samples: dict[str, list[float]] = {"baseline": [], "evidence": [], "item_response": []}
    warmup = min(200, args.iterations // 5)
    log(f"{args.iterations} iterations (+{warmup} warm-up) over {len(students)} students, {len(items)} items")
    for n in range(warmup + args.iterations):
        student = students[n % len(students)]
        item = items[int(rng.integers(len(items)))]
        correct = bool(rng.random() < 0.6)
        t_base = timed(lambda: touch.update(updated_at=timezone.now()))
        t_evid = timed(
            lambda student=student, c=correct: learner_evidence_record(
                student=student,
                curriculum=curriculum,
                evidence=turn_evidence({**record, "evaluation": "b" if c else "a"}, "answer", concepts),
            )
        )
        t_item = timed(
            lambda student=student, item=item, c=correct: item_response_record(student=student, item=item, correct=c)
        )
        if n >= warmup:
            samples["baseline"].append(t_base)
            samples["evidence"].append(t_evid)
            samples["item_response"].append(t_item)

    # A new calibration version stored by another process (after this one's cached idea of the latest version
    # expires): each student's next response rebuilds the posterior from their history.
    ItemCalibration.objects.create(
        curriculum=curriculum,
        version=1,
        model="2pl",
        params={i.key: {"a": 1.0, "b": i.irt_b, "c": 0.0} for i in items},
        responses=0,
        responses_hash="bench",
    )
    forget_latest_calibration(curriculum.pk)
    rebuild = [timed(lambda s=s: item_response_record(student=s, item=items[0], correct=True)) for s in students]
    history = Ability.objects.filter(curriculum=curriculum).values_list("n_responses", flat=True)

    result = {
        "database": connection.vendor,
        "iterations": args.iterations,
        "students": len(students),
        "calibrated_items": len(items),
        "responses_per_student_at_rebuild": int(np.median(list(history))),
        "baseline_update_ms": stats(samples["baseline"]),
        "evidence_ms": stats(samples["evidence"]),
        "item_response_ms": stats(samples["item_response"]),
        "rebuild_ms": stats(rebuild),
    }
    base = result["baseline_update_ms"]["p95"]
    result["ratio_p95"] = {
        k: round(result[f"{k}_ms"]["p95"] / base, 1) for k in ("evidence", "item_response") if base > 0
    }
    worst = max(result["evidence_ms"]["p95"], result["item_response_ms"]["p95"])
    result["target"] = {"p95_ms": TARGET_P95_MS, "met": worst < TARGET_P95_MS}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default="", help="postgres://... (dropped and re-created); default SQLite")
    args = parser.parse_args()
    result = on_fresh_database(args.database_url, "tutorgraph-learner-bench-", lambda database: run(args, database))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

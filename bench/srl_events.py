"""The SRL game's per-turn cost: event write + XP update, p95 against a bare single-row INSERT, SQLite or PostgreSQL.

    .venv/bin/python bench/srl_events.py [--iterations 2000] [--students 50] [--history 200] [--seed 2026]
        [--database-url postgres://postgres@127.0.0.1:5432/tutorgraph_srl_bench]

What is measured
----------------
The work ``tutor/srl`` does for one newly scored tutoring turn, as
``actions.srl_sync`` (run by the chat panel's poll, the study page and
"Finish") and ``views.panel_json`` do it:

- ``event_write``: the turn's ``turn`` event through ``xp_award`` in its own
  ``transaction.atomic()`` (the idempotency look-up, a savepoint, the
  INSERT), as ``srl_sync`` stores each new turn (it re-counts badges only
  when a turn is a comeback, which is rare and not timed here);
- ``xp_update``: ``selectors.game_state``, which derives XP, level, streak and
  badges from the student's whole event log (nothing is cached, so this is
  the replay the panel pays on every poll);
- ``turn``: the two together, per iteration: the number the target is on;
- ``baseline``: a bare single-row ``SrlEvent`` INSERT through the ORM: the
  floor any event write on this database pays.

As in ``bench/learner_update.py`` these are timed inside an already open
transaction, so the COMMIT is not in them. But ``srl_sync`` runs in the
poll's request, not in ``turn_run``, so each grant commits on its own:
``committed`` times the baseline INSERT and ``event_write`` again in
autocommit, COMMIT (and the disk's fsync) included (skip with
``--no-commit``). The target is on ``turn``; the COMMIT is the database's
per-transaction floor, paid the same by the bare INSERT, and is reported
beside it.

Every student starts with ``--history`` events spread over the last 60 days
(steps with and without XP, check-ins, goals, reflections, badges), so
``game_state`` reads a realistic log that grows as the run goes on. Turns
alternate between paying steps and zero-XP ones (a hint, a rapid guess). The
measurements are interleaved round-robin over ``--students`` students, so
they share the machine's noise; ``ratio_p95`` is each p95 over the
baseline's p95. ``replay_matches``: for ten students, ``game_state`` equals
``game_from_events`` over their whole log (the replay) on this database.

Database: a fresh SQLite file in a temporary folder, or, with
``--database-url``, a PostgreSQL database that is dropped and re-created (and
dropped again at the end). ``migrate`` and ``load_demo`` run first
(``INDEX_PASSAGES=off``).

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.learner_update import log, on_fresh_database, stats  # noqa: E402

TARGET_P95_MS = 3.0


def seed_history(students, curriculum, history: int, rng) -> None:
    """``history`` past events per student over 60 days, stored with their own ``created_at``."""
    from django.utils import timezone

    from tutor.srl.models import SrlEvent, StudySession

    now = timezone.now()
    field = SrlEvent._meta.get_field("created_at")
    field.auto_now_add = False  # the bench writes the past; restored below
    try:
        rows = []
        for s in students:
            study = StudySession.objects.create(student=s, curriculum=curriculum, status=StudySession.Status.ACTIVE)
            s.bench_study = study
            for i in range(history):
                at = now - timedelta(days=60 * (history - i) / history)
                r = rng.random()
                if r < 0.6:
                    kind, xp, data = "turn", int(rng.choice([0, 6, 10])), {"evaluation": "b"}
                elif r < 0.85:
                    kind, xp = "checkin", 2
                    data = {"confidence": int(rng.integers(1, 6)), "correct": bool(rng.random() < 0.7)}
                elif r < 0.95:
                    kind, xp, data = "goal_set", 5, {"text": "bench"}
                else:
                    kind, xp, data = "reflection", 10, {"depth": 2}
                rows.append(
                    SrlEvent(
                        student=s, study_session=study, kind=kind, key=f"hist:{i}", xp=xp, data=data, created_at=at
                    )
                )
        SrlEvent.objects.bulk_create(rows, batch_size=2000)
    finally:
        field.auto_now_add = True


def run(args: argparse.Namespace, database: str) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from tutor.accounts.models import User
    from tutor.curricula.models import Curriculum
    from tutor.srl.actions import badges_update, xp_award
    from tutor.srl.models import SrlEvent
    from tutor.srl.selectors import game_from_events, game_state

    log(f"migrate + load_demo on {database}")
    call_command("migrate", "--noinput", verbosity=0)
    call_command("load_demo", stdout=io.StringIO())
    curriculum = Curriculum.objects.filter(slug="fractions").order_by("-version").first()
    students = User.objects.bulk_create(
        [User(username=f"bench-srl-{i}", role=User.Role.STUDENT) for i in range(args.students)]
    )
    floor = User.objects.create(username="bench-srl-baseline", role=User.Role.STUDENT)
    rng = np.random.default_rng(args.seed)
    seed_history(students, curriculum, args.history, rng)
    for s in students:  # the badges the history already justifies, as a running student has them
        badges_update(s, s.bench_study)

    def timed(fn) -> float:
        """Inside an already open transaction, as learner_update.py times: the work, not the COMMIT."""
        with transaction.atomic():
            with connection.cursor() as cursor:  # PostgreSQL's BEGIN is lazy: open it before the clock starts
                cursor.execute("SELECT 1")
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start

    def timed_commit(fn) -> float:
        """In autocommit, as the poll's request runs it: the COMMIT (and its fsync) included."""
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    def write(student, key: str, n: int) -> None:
        xp = 10 if n % 2 else 0
        with transaction.atomic():  # as srl_sync stores each turn
            xp_award(
                student=student,
                study=student.bench_study,
                key=key,
                kind="turn",
                xp=xp,
                reason="step solved on your own" if xp else "no XP: a hint request",
                data={"message": n, "tutor_session": 0, "evaluation": "b" if xp else "d", "subproblem": "1"},
            )

    def insert(key: str) -> None:
        SrlEvent.objects.create(student=floor, key=key, kind="bench")

    names = ("baseline", "event_write", "xp_update", "turn", "baseline_committed", "event_write_committed")
    samples: dict[str, list[float]] = {k: [] for k in names}
    warmup = min(200, args.iterations // 5)
    log(f"{args.iterations} turns (+{warmup} warm-up) over {len(students)} students, {args.history} past events each")
    for n in range(warmup + args.iterations):
        student = students[n % len(students)]
        t = {
            "baseline": timed(lambda n=n: insert(f"base:{n}")),
            "event_write": timed(lambda s=student, n=n: write(s, f"turn:bench:{n}", n)),
            "xp_update": timed(lambda s=student: game_state(s)),
        }
        t["turn"] = t["event_write"] + t["xp_update"]
        if not args.no_commit:
            t["baseline_committed"] = timed_commit(lambda n=n: insert(f"base-c:{n}"))
            t["event_write_committed"] = timed_commit(lambda s=student, n=n: write(s, f"turn:bench-c:{n}", n))
        if n >= warmup:
            for k, v in t.items():
                samples[k].append(v)

    per_student = SrlEvent.objects.filter(student=students[0]).count()
    replay_matches = True  # the fast game_state must equal the replay of the log on this database too
    for s in students[:10]:
        rows = SrlEvent.objects.filter(student=s).order_by("created_at", "pk")
        events = [(e.kind, e.xp, e.data, timezone.localdate(e.created_at)) for e in rows]
        replay_matches &= game_state(s) == game_from_events(events, timezone.localdate())
    result = {
        "database": connection.vendor,
        "iterations": args.iterations,
        "students": len(students),
        "events_per_student_at_end": per_student,
        "replay_matches": replay_matches,
        "baseline_insert_ms": stats(samples["baseline"]),
        "event_write_ms": stats(samples["event_write"]),
        "xp_update_ms": stats(samples["xp_update"]),
        "turn_ms": stats(samples["turn"]),
    }
    base = result["baseline_insert_ms"]["p95"]
    result["ratio_p95"] = {
        k: round(result[f"{k}_ms"]["p95"] / base, 1) for k in ("event_write", "xp_update", "turn") if base > 0
    }
    if not args.no_commit:
        result["committed"] = {
            "baseline_insert_ms": stats(samples["baseline_committed"]),
            "event_write_ms": stats(samples["event_write_committed"]),
        }
        c_base = result["committed"]["baseline_insert_ms"]["p95"]
        result["committed"]["ratio_p95"] = round(result["committed"]["event_write_ms"]["p95"] / c_base, 2)
    result["target"] = {"p95_ms": TARGET_P95_MS, "met": result["turn_ms"]["p95"] < TARGET_P95_MS}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000, help="measured turns (at least 1000 for the report)")
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--history", type=int, default=200, help="past events per student before the run")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-commit", action="store_true", help="skip the committed (autocommit) measurements")
    parser.add_argument("--database-url", default="", help="postgres://... (dropped and re-created); default SQLite")
    args = parser.parse_args()
    result = on_fresh_database(args.database_url, "tutorgraph-srl-bench-", lambda database: run(args, database))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

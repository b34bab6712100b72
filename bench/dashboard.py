"""The class dashboard's server time at 40 students x 60 concepts x 50,000 responses: aggregates against naive.

    .venv/bin/python bench/dashboard.py [--students 40] [--concepts 60] [--responses 50000] [--repeat 5]

What is measured
----------------
A fresh SQLite database (the embedded mode) gets a generated curriculum of
``--concepts`` concepts (a prerequisite chain, one problem with one step per
concept), one class of ``--students`` students, and ``--responses`` answered
student messages spread over the students and problems: each with its tutor
reply and CLASS record (40% wrong, half of those an authored misconception),
and the mastery evidence written through ``learner_evidence_record`` (one
batched call per student, so states and history rows are the real ones).

The seeding's ``learner_evidence_record`` calls refresh each student's
pre-aggregated rows after commit, as live turns do (embedded mode: inline).

- ``dashboard``: GET ``/teach/classes/<id>/coaching/`` through Django's test
  client as the teacher: the page as served, read from the pre-aggregated
  tables (``coaching.models``), i.e. the server time;
- ``naive``: the same page computed from source by the naive selectors
  (``dashboard_context(aggregated=False)`` rendered with the same template):
  the per-request scan of states, evidence, turns and messages the
  aggregates replace;
- ``refresh_student``: one ``coaching_aggregates_refresh`` (what each turn
  costs after commit), and ``refresh_all``: ``manage.py coaching_refresh``.

Each runs ``--repeat`` times after one warm-up (``refresh_all`` once); the
JSON on the last line of stdout has p50 and max in ms, ``speedup`` (naive p50
over dashboard p50) and ``target_ms`` (500, from issue 9).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 500.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def package(n_concepts: int) -> dict:
    concepts, problems = [], []
    for i in range(n_concepts):
        concept = {"id": f"c{i:02d}", "name": f"Concept {i:02d}"}
        if i:
            concept["prerequisites"] = [f"c{i - 1:02d}"]
        concepts.append(concept)
        problems.append(
            {
                "id": f"p{i:02d}",
                "title": f"Problem {i:02d}",
                "statement": f"What is {i} + 1?",
                "concepts": [f"c{i:02d}"],
                "answer": {"kind": "number", "value": str(i + 1)},
                "solution": f"{i} + 1 = {i + 1}.",
                "subproblems": [
                    {
                        "question": f"What is {i} + 1?",
                        "answer": {"kind": "number", "value": str(i + 1)},
                        "hints": ["Count on by one."],
                        "misconceptions": [{"id": "off-by-one", "answer": str(i + 2), "feedback": "Count again."}],
                        "solution": f"{i} + 1 = {i + 1}.",
                    }
                ],
            }
        )
    return {
        "format": "tutorgraph-curriculum/1",
        "id": "bench-dashboard",
        "title": "Bench dashboard",
        "language": "en",
        "concepts": concepts,
        "problems": problems,
    }


def run(args: argparse.Namespace) -> dict:
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command
    from django.test import Client

    from models.mastery import Evidence
    from tutor.accounts.models import Classroom, User
    from tutor.curricula.importer import curriculum_import
    from tutor.dialogue.models import Message, TutorSession
    from tutor.learners.actions import learner_evidence_record
    from tutor.learners.models import MasteryEvent

    call_command("migrate", "--noinput", verbosity=0, stdout=io.StringIO())
    curriculum = curriculum_import(package(args.concepts)).curriculum
    teacher = User.objects.create_user(username="bench-teacher", password="x", role=User.Role.TEACHER)
    classroom = Classroom.objects.create(name="Bench class", teacher=teacher, code="BENCH1")
    classroom.curricula.add(curriculum)
    students = User.objects.bulk_create(
        [User(username=f"bench-s{i}", role=User.Role.STUDENT, first_name=f"S{i}") for i in range(args.students)]
    )
    classroom.students.add(*students)
    problems = list(curriculum.problems.order_by("position").prefetch_related("subproblems"))
    rng = np.random.default_rng(args.seed)
    log(f"seeding {args.responses} responses over {len(students)} students and {len(problems)} problems")
    sessions = {}
    for s in students:
        for p in problems[: max(1, len(problems) // 2)]:
            sessions[(s.pk, p.pk)] = TutorSession.objects.create(student=s, problem=p)
    keys = list(sessions)
    concept_of = {p.pk: f"c{i:02d}" for i, p in enumerate(problems)}
    question_of = {p.pk: p.subproblems.all()[0].question for p in problems}
    per_session: dict = {}
    messages, evidence = [], {s.pk: [] for s in students}
    for n in range(args.responses):
        student_id, problem_id = keys[int(rng.integers(len(keys)))]
        session = sessions[(student_id, problem_id)]
        seq = per_session.get(session.pk, 0)
        per_session[session.pk] = seq + 2
        wrong = rng.random() < 0.4
        misconception = "off-by-one" if wrong and rng.random() < 0.5 else None
        record = {
            "evaluation": "a" if wrong else "b",
            "action": 1 if wrong else 3,
            "subproblem_state": "x",
            "subproblem": question_of[problem_id],
            "misconception": misconception,
            "move": "focus",
            "guard": "passed",
        }
        messages.append((session, seq + 1, f"{n}", record))
        evidence[student_id].append(Evidence(concept_of[problem_id], not wrong, kind="subproblem"))
    students_rows = Message.objects.bulk_create(
        [
            Message(session=s, seq=q, role="student", kind="answer", text=t, client_id=f"c{s.pk}-{q}")
            for s, q, t, _ in messages
        ],
        batch_size=2000,
    )
    Message.objects.bulk_create(
        [
            Message(session=s, seq=q + 1, role="tutor", kind="tutor", text="reply", record=r, reply_to=m)
            for (s, q, _, r), m in zip(messages, students_rows, strict=True)
        ],
        batch_size=2000,
    )
    for s in students:
        learner_evidence_record(student=s, curriculum=curriculum, evidence=evidence[s.pk])
    log(f"{MasteryEvent.objects.count()} mastery events, {Message.objects.count()} messages")

    client = Client()
    client.force_login(teacher)
    url = f"/teach/classes/{classroom.pk}/coaching/"

    def dashboard() -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from tutor.coaching.actions import coaching_aggregates_refresh, coaching_refresh_all
    from tutor.coaching.views import dashboard_context

    request = RequestFactory().get(url)
    request.user = teacher

    def naive() -> None:
        render_to_string("coaching/dashboard.html", dashboard_context(classroom, curriculum, aggregated=False), request)

    def refresh_student() -> None:
        coaching_aggregates_refresh(student_id=students[0].pk, curriculum_slug=curriculum.slug)

    out = {}
    for name, fn in (("dashboard", dashboard), ("naive", naive), ("refresh_student", refresh_student)):
        fn()
        samples = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
        out[name] = {"p50_ms": round(float(np.median(samples)), 1), "max_ms": round(max(samples), 1)}
        log(f"{name}: {out[name]}")
    start = time.perf_counter()
    pairs = coaching_refresh_all()
    out["refresh_all"] = {"ms": round((time.perf_counter() - start) * 1000, 1), "pairs": pairs}
    out["speedup"] = round(out["naive"]["p50_ms"] / out["dashboard"]["p50_ms"], 1)
    log(f"refresh_all: {out['refresh_all']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--concepts", type=int, default=60)
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tutorgraph-dashboard-bench-") as tmp:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="tutor.settings",
            DATA_DIR=tmp,
            DATABASE_URL=f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
            REDIS_URL="",
            INDEX_PASSAGES="off",
        )
        result = run(args)
    result.update(
        students=args.students,
        concepts=args.concepts,
        responses=args.responses,
        target_ms=TARGET_MS,
        meets_target=result["dashboard"]["p50_ms"] <= TARGET_MS,
        database="sqlite",
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

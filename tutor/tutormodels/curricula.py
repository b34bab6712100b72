"""Which problems a ``--curriculum ID`` names, for the dataset builder.

In order: a path to a curriculum YAML file; a demo curriculum by id
(``tutor/curricula/demo/<id>.yaml``); else the latest imported version of
that slug in the database. The files come first so building a dataset from
the demos needs no database, and gives the same data on every machine.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from tutor.agents.problem import ProblemKey
from tutor.agents.simstudents import load_problem_keys

DEMO_DIR = Path(settings.BASE_DIR) / "tutor" / "curricula" / "demo"


class UnknownCurriculum(LookupError):
    pass


def problems_for(curriculum: str) -> list[ProblemKey]:
    path = Path(curriculum)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return load_problem_keys(path)
    demo = DEMO_DIR / f"{curriculum}.yaml"
    if demo.is_file():
        return load_problem_keys(demo)
    from tutor.curricula.models import Curriculum
    from tutor.dialogue.actions import problem_key

    found = Curriculum.objects.filter(slug=curriculum).order_by("-version").first()
    if found is None:
        raise UnknownCurriculum(f"no curriculum {curriculum!r}: not a YAML file, a demo id or an imported slug")
    return [problem_key(p) for p in found.problems.prefetch_related("subproblems", "concepts").order_by("key")]

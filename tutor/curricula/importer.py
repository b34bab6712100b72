"""Import a curriculum from its JSON package, all or nothing.

Validation runs over the whole document first and names the exact place of
the first problem it finds (``problems[1].subproblems[0].answer.kind``), then
one transaction writes everything. Importing the same slug and version again
is refused rather than silently merged; a changed curriculum gets a new
version so sessions already started keep theirs.

The package shape (the curriculum issue extends it)::

    {"slug": "fractions", "version": 1, "title": "...", "description": "...",
     "problems": [{"slug": "...", "title": "...", "statement": "...", "concept": "5.NF.A.1",
                   "subproblems": [{"prompt": "...",
                                    "answer": {"kind": "number", "value": "7/8", "tolerance": 0},
                                    "hints": ["..."],
                                    "misconceptions": [{"id": "...", "answer": "4/12", "feedback": "..."}],
                                    "solution": "..."}]}]}
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from tutor.curricula.models import Curriculum, Problem, Subproblem
from tutor.dialogue.answers import parse_number

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class CurriculumError(ValueError):
    """The package is invalid; ``path`` says where, the message says what."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path


def _get(obj: dict, key: str, path: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
    where = f"{path}.{key}" if path else key
    if key not in obj:
        if required:
            raise CurriculumError(where, "is required")
        return None
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise CurriculumError(where, f"must be {names}, not {type(value).__name__}")
    if isinstance(value, str) and required and not value.strip():
        raise CurriculumError(where, "must not be empty")
    return value


def validate_curriculum(doc: Any) -> dict:
    """Return a normalised copy of ``doc`` or raise CurriculumError."""
    if not isinstance(doc, dict):
        raise CurriculumError("", f"the package must be a JSON object, not {type(doc).__name__}")
    slug = _get(doc, "slug", "", str)
    if not SLUG_RE.match(slug):
        raise CurriculumError("slug", f"{slug!r} must be lowercase letters, digits and hyphens")
    version = _get(doc, "version", "", int, required=False) or 1
    if version < 1:
        raise CurriculumError("version", "must be 1 or more")
    out = {
        "slug": slug,
        "version": version,
        "title": _get(doc, "title", "", str),
        "description": _get(doc, "description", "", str, required=False) or "",
        "problems": [],
    }
    problems = _get(doc, "problems", "", list)
    if not problems:
        raise CurriculumError("problems", "must list at least one problem")
    slugs: set[str] = set()
    for i, prob in enumerate(problems):
        path = f"problems[{i}]"
        if not isinstance(prob, dict):
            raise CurriculumError(path, "must be an object")
        pslug = _get(prob, "slug", path, str)
        if not SLUG_RE.match(pslug):
            raise CurriculumError(f"{path}.slug", f"{pslug!r} must be lowercase letters, digits and hyphens")
        if pslug in slugs:
            raise CurriculumError(f"{path}.slug", f"{pslug!r} is used by an earlier problem")
        slugs.add(pslug)
        subs = _get(prob, "subproblems", path, list)
        if not subs:
            raise CurriculumError(f"{path}.subproblems", "must list at least one subproblem")
        out["problems"].append(
            {
                "slug": pslug,
                "title": _get(prob, "title", path, str),
                "statement": _get(prob, "statement", path, str),
                "concept": _get(prob, "concept", path, str, required=False) or "",
                "subproblems": [_validate_sub(sub, f"{path}.subproblems[{j}]") for j, sub in enumerate(subs)],
            }
        )
    return out


def _validate_sub(sub: Any, path: str) -> dict:
    if not isinstance(sub, dict):
        raise CurriculumError(path, "must be an object")
    answer = _get(sub, "answer", path, dict)
    apath = f"{path}.answer"
    kind = _get(answer, "kind", apath, str)
    if kind not in Subproblem.AnswerKind.values:
        raise CurriculumError(f"{apath}.kind", f"{kind!r} must be one of {', '.join(Subproblem.AnswerKind.values)}")
    value = _get(answer, "value", apath, (str, int, float))
    value = str(value)
    choices = _get(answer, "choices", apath, list, required=False) or []
    if kind == "number" and parse_number(value) is None:
        raise CurriculumError(f"{apath}.value", f"{value!r} is not a number, fraction or mixed number")
    if kind == "choice":
        if not choices or not all(isinstance(c, str) and c.strip() for c in choices):
            raise CurriculumError(f"{apath}.choices", "a choice answer needs a list of non-empty options")
        if value not in choices:
            raise CurriculumError(f"{apath}.value", f"{value!r} is not one of the choices")
    tolerance = _get(answer, "tolerance", apath, (int, float), required=False)
    tolerance = 1e-9 if tolerance is None else float(tolerance)
    if tolerance < 0:
        raise CurriculumError(f"{apath}.tolerance", "must not be negative")
    hints = _get(sub, "hints", path, list)
    if not hints or not all(isinstance(h, str) and h.strip() for h in hints):
        raise CurriculumError(f"{path}.hints", "must list at least one non-empty hint")
    miscs = _get(sub, "misconceptions", path, list, required=False) or []
    for k, m in enumerate(miscs):
        mpath = f"{path}.misconceptions[{k}]"
        if not isinstance(m, dict):
            raise CurriculumError(mpath, "must be an object")
        for key in ("id", "answer", "feedback"):
            _get(m, key, mpath, str)
    return {
        "prompt": _get(sub, "prompt", path, str),
        "answer_kind": kind,
        "answer": value,
        "tolerance": tolerance,
        "choices": choices,
        "hints": hints,
        "misconceptions": [{"id": m["id"], "answer": m["answer"], "feedback": m["feedback"]} for m in miscs],
        "solution": _get(sub, "solution", path, str),
    }


def curriculum_import(doc: Any) -> Curriculum:
    """Validate and store a curriculum package; nothing is written on error."""
    data = validate_curriculum(doc)
    with transaction.atomic():
        if Curriculum.objects.filter(slug=data["slug"], version=data["version"]).exists():
            raise CurriculumError(
                "version", f"{data['slug']!r} version {data['version']} is already imported; bump the version"
            )
        curriculum = Curriculum.objects.create(
            slug=data["slug"], version=data["version"], title=data["title"], description=data["description"]
        )
        for i, prob in enumerate(data["problems"]):
            problem = Problem.objects.create(
                curriculum=curriculum,
                slug=prob["slug"],
                position=i,
                title=prob["title"],
                statement=prob["statement"],
                concept=prob["concept"],
            )
            Subproblem.objects.bulk_create(
                Subproblem(problem=problem, position=j, **sub) for j, sub in enumerate(prob["subproblems"])
            )
    return curriculum

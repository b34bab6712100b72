"""Convert an OATutor content pool into a Tutorgraph curriculum package (format v1).

OATutor is the open adaptive tutor from UC Berkeley's CAHLR lab. This module reads
its content from disk and returns the package dict described in
``docs/curriculum-format.md``. Pure Python, no Django.

OATutor's format on disk
------------------------
Confirmed from the CAHLR/OATutor repository: its README ("Content Sources"),
``src/tools/preprocessProblemPool.js`` (how the platform reads the pool),
``src/platform-logic/checkAnswer.js``, ``renderText.js`` and ``variabilize.js``,
``src/components/problem-input/ProblemInput.js``, and the content itself under
``src/content-sources/oatutor/`` (``content-pool/**`` and ``skillModel.json``)::

    <content source>/                        e.g. src/content-sources/oatutor/
        skillModel.json                      {"<stepId>": ["skill", ...], ...}
        content-pool/
            <problemId>/
                <problemId>.json             id, title, body, variabilization, oer, license,
                                             lesson, lessonId, courseName
                figures/                     images, named in text as ##name.gif##
                steps/
                    <stepId>/                the step ids are the problem id + "a", "b", ...
                        <stepId>.json        id, stepTitle, stepBody, problemType, answerType,
                                             stepAnswer, choices, precision, units,
                                             variabilization, answerLatex
                        tutoring/
                            <stepId>DefaultPathway.json

- ``problemType`` is ``TextBox``, ``MultipleChoice`` or ``GridInput`` (a matrix
  typed cell by cell). ``answerType`` is ``arithmetic`` (compared algebraically
  by KAS; answers are LaTeX, usually wrapped in ``$$``), ``string`` (exact match
  ignoring spaces), ``short-essay`` / ``essay`` (free text) or anything else,
  which OATutor compares as a number rounded to ``precision`` decimal places
  (default 5); the README's example uses ``numeric``. ``stepAnswer`` lists every
  accepted answer; a multiple-choice answer must be one of ``choices``.
- A hint pathway is a JSON array of help items shown in order: ``type`` is
  ``hint`` or ``solution`` (``title``, ``text``) or ``scaffold`` (a question with
  ``problemType``, ``answerType``, ``hintAnswer``, optional ``choices`` and
  ``subHints``, which are help items one level deep). ``dependencies`` (ids, or
  indices in old content) only gate when an item unlocks; real content has
  dangling ids there, so they are ignored.
- ``oer`` and ``license`` read ``"<url> <Name>"``, e.g.
  ``"https://creativecommons.org/licenses/by/4.0/ <CC BY 4.0>"``; hints carry
  their own.
- ``variabilization`` maps a name to a list of options; ``@{name}`` in text and
  answers is replaced by one option, the same index for every variable.
  Problem, step and hint variables merge, inner ones winning.
- In text, ``$$...$$`` is inline LaTeX, a literal ``\\n`` is a line break and
  ``##file##`` shows a figure.
- The skill model tags *steps*, not problems, and has no prerequisites.
- Folders whose names start with ``_`` or ``.`` are ignored, as OATutor does;
  steps are taken in folder-name order (``a``, ``b``, ...).

Where the skill model is looked up
----------------------------------
``source`` is either the content source (the folder holding ``content-pool/``)
or the ``content-pool`` folder itself. The skill model is, first found wins:

1. the ``skill_model`` argument (a path; relative paths are relative to ``source``);
2. ``<source>/skillModel.json``;
3. when ``source`` is the pool itself, ``<source>/../skillModel.json`` (beside it,
   as in OATutor's own layout).

With none, every step falls back to its lesson's concept (below). OATutor's
older ``src/config/skillModel.js`` is JavaScript, not JSON: convert it first.

How it maps onto our format
---------------------------
- ``id``: the ``curriculum_id`` argument, else the content source's folder name,
  lowercased and slugified to our id pattern. ``title``: the argument, else the
  problems' ``courseName`` (joined if several), else a name built from the id.
  ``license``: the SPDX id of the one licence all problems and hints share
  (``CC-BY-4.0``), omitted when they differ; ``attribution`` names every
  ``oer`` source and licence.
- ``concepts``: every skill the imported steps use (id slugified, keeping case;
  name = the skill string, clipped to 200 characters), in order of first use.
  A step with no skill falls back to a concept named after its problem's
  course and lesson (``"<courseName> — <lesson>"``), created on demand. No
  prerequisites: OATutor has none.
- ``problems``: one per OATutor problem, in folder-name order. ``id`` = the
  problem id (slugified); ``statement`` = title + body; ``concepts`` = the union
  of its steps' concepts; ``subproblems`` = its steps in order; ``answer`` = the
  last step's answer; ``solution`` = the step solutions joined.
- A step's ``question`` = stepTitle + stepBody (+ units). Its ``answer``:

  * ``MultipleChoice`` -> ``choice`` with the choices, value = ``stepAnswer[0]``;
  * ``TextBox`` + ``string`` / ``short-essay`` / ``essay``, and ``GridInput``
    -> ``text`` with references = every ``stepAnswer``;
  * ``TextBox`` + ``arithmetic`` -> ``number`` when ``stepAnswer[0]`` is a number
    or fraction (``6``, ``-0.5``, ``\\frac{5}{6}``, ``12\\%``), else ``expression``
    in sympy syntax (LaTeX ``\\frac``, ``\\sqrt``, ``\\cdot``, ``^``, braces and
    implicit products converted: ``$$x^{2}+5x$$`` -> ``x**2 + 5*x``); ``x=5`` and
    ``y=2x+3`` keep the right-hand side (our checkers read what follows ``=``).
    What cannot be converted safely (matrices, intervals, inequalities,
    ``\\infty``, large or nested powers) becomes ``text`` with the answers as
    references;
  * any other ``answerType`` (``numeric``) -> ``number`` with
    ``tolerance`` = half a unit in the last of ``precision`` places (default 5);
    an answer that is not a number is an error.

  ``hints`` = the pathway, in order; ``misconceptions`` = [] (OATutor has none);
  ``solution`` = ``"The answer is X."``.

What is lost
------------
Our format has a flat hint ladder and one answer per subproblem, so:

- a scaffold becomes hints: ``"Try this first: <question>"`` (with its choices),
  then its sub-hints, then ``"The answer to that is <hintAnswer[0]>."``; the
  student is no longer asked to answer it;
- hint titles are dropped (used only when a hint has no text), and so are
  ``dependencies``, text-to-speech fields and ``answerLatex``;
- only ``stepAnswer[0]`` is kept for number, expression and choice answers
  (OATutor accepts any entry);
- variables take their first option; figures become ``[figure: name]``;
  ``$$...$$`` becomes ``$...$``; ``\\n`` becomes a line break;
- only the ``DefaultPathway`` is read (pass ``pathway`` for another);
- BKT parameters, course plans and ``lessonId`` are not imported.

Errors
------
Problems are collected over the whole pool and raised together as
:class:`OATutorFormatError`; each names the file relative to ``source`` and the
JSON path inside it, e.g. ``content-pool/abc1/steps/abc1a/abc1a.json:
stepAnswer: missing``; invalid JSON gives its line and column. A step with no
hint pathway (or an empty one) is an error, because our format requires at
least one hint per subproblem; with ``allow_missing_hints=True`` it gets the
single hint ``"Re-read the question: <stepTitle>"`` instead. A skill model entry
for a step that is not in the pool is an error unless
``ignore_unknown_skill_steps=True``.

Safety
------
Nothing is executed or written. Symbolic links are followed only when they stay
inside the folder being read (``source``, or the folder holding a skill model
found beside the pool); others are reported and skipped. Each JSON file is
capped at ``max_file_bytes`` (5 MB by default) and refused, with an error,
before it is parsed. Answers reach sympy only through
:func:`tutor.dialogue.answers.parse_expression`, which admits plain arithmetic
and no Python, after a guard against huge or nested powers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tutor.dialogue.answers import parse_expression, parse_number

FORMAT = "tutorgraph-curriculum/1"
POOL_DIR = "content-pool"
SKILL_MODEL_FILE = "skillModel.json"
DEFAULT_PATHWAY = "DefaultPathway"
MAX_JSON_BYTES = 5 * 1024 * 1024
DEFAULT_PRECISION = 5  # checkAnswer.js rounds numeric answers to 5 places unless told otherwise

PROBLEM_TYPES = ("TextBox", "MultipleChoice", "GridInput")
TEXT_ANSWER_TYPES = ("string", "short-essay", "essay")
HINT_TYPES = ("hint", "scaffold", "solution")
_TYPES = ", ".join(PROBLEM_TYPES)
MAX_HINT_DEPTH = 1  # a scaffold's sub-hints are the deepest level OATutor has

_ID_MAX = 80
_NAME_MAX = 200
_BAD = object()  # a file that could not be read; its error is already recorded


class OATutorFormatError(ValueError):
    """The OATutor content cannot be converted; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        head = f"{_count(len(self.errors), 'problem')} in the OATutor content:"
        super().__init__("\n".join([head, *(f"  {e}" for e in self.errors)]))


def read_oatutor(
    source: Path | str,
    *,
    curriculum_id: str | None = None,
    title: str | None = None,
    skill_model: Path | str | None = None,
    pathway: str = DEFAULT_PATHWAY,
    allow_missing_hints: bool = False,
    ignore_unknown_skill_steps: bool = False,
    max_file_bytes: int = MAX_JSON_BYTES,
) -> dict:
    """Read the OATutor content at ``source`` and return a v1 curriculum package dict.

    ``source`` is a content source (holding ``content-pool/``) or a content pool;
    see the module docstring for the skill model lookup and the mapping. Raises
    :class:`OATutorFormatError` listing every problem found.
    """
    reader = _Reader(Path(source), max_file_bytes=max_file_bytes, pathway=pathway)
    return reader.run(
        curriculum_id=curriculum_id,
        title=title,
        skill_model=skill_model,
        allow_missing_hints=allow_missing_hints,
        ignore_unknown_skill_steps=ignore_unknown_skill_steps,
    )


# --------------------------------------------------------------------------- reading


@dataclass
class _RawStep:
    dir: Path
    file: Path
    data: Any
    pathway_file: Path
    pathway: Any  # None when the file does not exist


@dataclass
class _RawProblem:
    dir: Path
    file: Path
    data: Any
    steps: list[_RawStep] = field(default_factory=list)


class _Ids:
    """Maps names to unique ids matching our id pattern, stable for equal names."""

    def __init__(self):
        self.by_name: dict[str, str] = {}
        self.used: set[str] = set()

    def get(self, name: str) -> str:
        if name in self.by_name:
            return self.by_name[name]
        candidate = _slug(name)
        if candidate in self.used:
            candidate = _slug(name, hashed=True)
        n = 2
        base = candidate
        while candidate in self.used:
            candidate = f"{base[: _ID_MAX - 4]}-{n}"
            n += 1
        self.by_name[name] = candidate
        self.used.add(candidate)
        return candidate


class _Reader:
    def __init__(self, source: Path, *, max_file_bytes: int, pathway: str):
        self.source = source
        self.root = source.resolve()
        self.max_bytes = max_file_bytes
        self.pathway = pathway
        self.errors: list[str] = []
        self.problem_sources: dict[str, None] = {}
        self.hint_sources: dict[str, None] = {}
        self.licenses: dict[str, None] = {}

    # ----------------------------------------------------------------- plumbing

    def rel(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.source)).as_posix()

    def error(self, path: Path, where: str, message: str) -> None:
        self.errors.append(f"{self.rel(path)}: {where}: {message}" if where else f"{self.rel(path)}: {message}")

    def inside(self, path: Path, boundary: Path | None = None) -> bool:
        return path.resolve().is_relative_to(boundary or self.root)

    def subdirs(self, folder: Path) -> list[Path]:
        """Sub-folders in name order, skipping ``_``/``.`` names and links leading outside."""
        found = []
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            self.error(folder, "", f"cannot be listed ({exc.strerror})")
            return []
        for entry in entries:
            if entry.name.startswith(("_", ".")):
                continue
            path = Path(folder, entry.name)
            if entry.is_symlink() and not self.inside(path):
                self.error(path, "", "is a symbolic link leading outside the source; not followed")
                continue
            if entry.is_dir():
                found.append(path)
        return found

    def load_json(self, path: Path, boundary: Path | None = None, *, contained: bool = True) -> Any:
        """The parsed file, or ``_BAD`` after recording why it cannot be read.

        With ``contained``, the file (after following links) must lie inside
        ``boundary`` (by default the source).
        """
        if contained and not self.inside(path, boundary):
            self.error(path, "", "is a symbolic link leading outside the source; not read")
            return _BAD
        mb = 1024 * 1024
        limit = f"{self.max_bytes // mb} MB" if self.max_bytes % mb == 0 else f"{self.max_bytes:,} byte"
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                self.error(path, "", f"is {size:,} bytes, over the {limit} limit for one JSON file; not read")
                return _BAD
            with open(path, "rb") as fh:
                data = fh.read(self.max_bytes + 1)
        except OSError as exc:
            self.error(path, "", f"cannot be read ({exc.strerror})")
            return _BAD
        if len(data) > self.max_bytes:
            self.error(path, "", f"is over the {limit} limit for one JSON file; not read")
            return _BAD
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.error(path, "", f"is not UTF-8 text (byte {exc.start} is invalid)")
            return _BAD
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            self.error(path, "", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
        except RecursionError:
            self.error(path, "", "invalid JSON: nested too deeply")
        return _BAD

    # ------------------------------------------------------------------ fields

    def string(self, path: Path, data: dict, key: str, where: str = "", *, required: bool = True) -> str | None:
        """``data[key]`` when it is a string; records an error when it is missing or not one."""
        at = f"{where}.{key}" if where else key
        if key not in data or data[key] is None:
            if required:
                self.error(path, at, "missing")
            return None
        value = data[key]
        if not isinstance(value, str):
            self.error(path, at, f"must be a string, not {_jtype(value)}")
            return None
        return value

    def strings(self, path: Path, data: dict, key: str, where: str = "", *, min_items: int = 1) -> list[str] | None:
        """``data[key]`` as a list of non-empty strings, or None after recording why not."""
        at = f"{where}.{key}" if where else key
        value = data.get(key)
        if value is None:
            self.error(path, at, "missing")
            return None
        if not isinstance(value, list):
            self.error(path, at, f"must be a list of strings, not {_jtype(value)}")
            return None
        if len(value) < min_items:
            self.error(path, at, f"needs at least {min_items} item{'' if min_items == 1 else 's'}")
            return None
        ok = True
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.error(path, f"{at}[{i}]", "must be a non-empty string")
                ok = False
        return list(value) if ok else None

    def variables(self, path: Path, data: dict, where: str = "") -> dict[str, str]:
        """The first option of each variable in ``data["variabilization"]``."""
        at = f"{where}.variabilization" if where else "variabilization"
        value = data.get("variabilization")
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, at, f"must be an object, not {_jtype(value)}")
            return {}
        chosen = {}
        for name, options in value.items():
            if not isinstance(options, list) or not options or not isinstance(options[0], str | int | float):
                self.error(path, f"{at}.{name}", "must be a non-empty list of options")
                continue
            chosen[name] = str(options[0])
        return chosen

    def note_source(self, path: Path, data: dict, where: str, sources: dict[str, None]) -> None:
        oer = self.string(path, data, "oer", where, required=False)
        if oer and oer.strip():
            sources[oer.strip()] = None
        lic = self.string(path, data, "license", where, required=False)
        if lic and lic.strip():
            self.licenses[lic.strip()] = None

    # ------------------------------------------------------------------- scan

    def scan(self, pool: Path) -> list[_RawProblem]:
        problems = []
        for pdir in self.subdirs(pool):
            pfile = pdir / f"{pdir.name}.json"
            if pfile.is_file():
                pdata = self.load_json(pfile)
            else:
                self.error(pfile, "", f"missing: the problem folder {pdir.name}/ needs {pdir.name}.json")
                pdata = _BAD
            problem = _RawProblem(pdir, pfile, pdata)
            steps_dir = pdir / "steps"
            step_dirs = self.subdirs(steps_dir) if steps_dir.is_dir() else []
            if not step_dirs:
                self.error(steps_dir, "", "no steps: an OATutor problem needs at least one steps/<stepId>/ folder")
            for sdir in step_dirs:
                sfile = sdir / f"{sdir.name}.json"
                if sfile.is_file():
                    sdata = self.load_json(sfile)
                else:
                    self.error(sfile, "", f"missing: the step folder {sdir.name}/ needs {sdir.name}.json")
                    sdata = _BAD
                hfile = sdir / "tutoring" / f"{sdir.name}{self.pathway}.json"
                hdata = self.load_json(hfile) if hfile.is_file() else None
                problem.steps.append(_RawStep(sdir, sfile, sdata, hfile, hdata))
            problems.append(problem)
        return problems

    def read_skill_model(self, explicit: Path | str | None, pool: Path) -> tuple[Path | None, Any]:
        if explicit is not None:
            path = Path(explicit)
            if not path.is_absolute():
                path = self.source / path
            if not path.is_file():
                self.error(path, "", "missing (given as skill_model)")
                return path, _BAD
            return path, self.load_json(path, contained=False)  # the caller chose this file
        candidates = [(self.source / SKILL_MODEL_FILE, None)]
        if pool == self.source:
            beside = self.source.parent / SKILL_MODEL_FILE
            candidates.append((beside, self.source.parent.resolve()))
        for path, boundary in candidates:
            if path.is_file():
                return path, self.load_json(path, boundary)
        return None, None

    def skill_map(self, path: Path, data: Any) -> dict[str, list[str]]:
        if not isinstance(data, dict):
            self.error(path, "", f"must be a JSON object mapping step ids to lists of skills, not {_jtype(data)}")
            return {}
        skills: dict[str, list[str]] = {}
        for step_id, names in data.items():
            if not isinstance(names, list):
                self.error(path, step_id, f"must be a list of skill names, not {_jtype(names)}")
                continue
            good = []
            for i, name in enumerate(names):
                if not isinstance(name, str) or not name.strip():
                    self.error(path, f"{step_id}[{i}]", "must be a non-empty skill name")
                elif name.strip() not in good:
                    good.append(name.strip())
            skills[step_id] = good
        return skills

    # ------------------------------------------------------------------- run

    def run(
        self,
        *,
        curriculum_id: str | None,
        title: str | None,
        skill_model: Path | str | None,
        allow_missing_hints: bool,
        ignore_unknown_skill_steps: bool,
    ) -> dict:
        if not self.source.is_dir():
            raise OATutorFormatError([f"{self.source}: not a directory"])
        pool = self.source / POOL_DIR
        if pool.is_dir():
            if not self.inside(pool):
                raise OATutorFormatError([f"{self.rel(pool)}: is a symbolic link leading outside the source"])
        else:
            pool = self.source
        model_path, model_data = self.read_skill_model(skill_model, pool)
        skills_by_step = {} if model_path is None or model_data is _BAD else self.skill_map(model_path, model_data)

        raw = self.scan(pool)
        if not raw and not self.errors:
            self.error(pool, "", "no problems found (expected <problemId>/<problemId>.json folders)")

        folder = self.root.parent if pool == self.source and self.root.name == POOL_DIR else self.root
        cid = _slug(curriculum_id or folder.name or "oatutor", lower=True)
        courses = list(
            dict.fromkeys(
                p.data["courseName"].strip()
                for p in raw
                if isinstance(p.data, dict)
                and isinstance(p.data.get("courseName"), str)
                and p.data["courseName"].strip()
            )
        )
        package_title = (title or "; ".join(courses) or f"OATutor content: {cid}").strip()

        convert = _Converter(self, skills_by_step, package_title, allow_missing_hints)
        problems = [p for p in (convert.problem(rp) for rp in raw) if p is not None]

        if model_path is not None and not ignore_unknown_skill_steps:
            for step_id in skills_by_step:
                if step_id in convert.step_ids:
                    continue
                if step_id in convert.problem_ids:
                    self.error(model_path, step_id, "is a problem id; the skill model tags steps (e.g. its 'a' step)")
                else:
                    self.error(model_path, step_id, "names no step in the content pool")

        if self.errors:
            raise OATutorFormatError(self.errors)

        package: dict[str, Any] = {
            "format": FORMAT,
            "id": cid,
            "title": _clip(package_title, _NAME_MAX),
            "description": f"Imported from OATutor content: {_count(len(problems), 'problem')}.",
        }
        spdx = {_spdx(lic) for lic in self.licenses}
        if len(spdx) == 1 and None not in spdx:
            package["license"] = spdx.pop()
        attribution = self.attribution()
        if attribution:
            package["attribution"] = attribution
        package["concepts"] = convert.concepts
        package["problems"] = problems
        return package

    def attribution(self) -> str:
        parts = []
        if self.problem_sources:
            parts.append("Problems from " + ", ".join(_source_label(s) for s in self.problem_sources) + ".")
        if self.hint_sources:
            parts.append("Hints and scaffolds from " + ", ".join(_source_label(s) for s in self.hint_sources) + ".")
        if self.licenses:
            parts.append("Licensed under " + ", ".join(_source_label(s) for s in self.licenses) + ".")
        if parts:
            parts.append("Converted from the OATutor content format.")
        return " ".join(parts)


# ------------------------------------------------------------------------ converting


class _Converter:
    def __init__(self, reader: _Reader, skills_by_step: dict[str, list[str]], title: str, allow_missing_hints: bool):
        self.r = reader
        self.skills_by_step = skills_by_step
        self.title = title
        self.allow_missing_hints = allow_missing_hints
        self.concept_ids = _Ids()
        self.problem_id_map = _Ids()
        self.concepts: list[dict] = []
        self.problem_ids: dict[str, Path] = {}
        self.step_ids: dict[str, Path] = {}

    def concept(self, name: str) -> str:
        known = name in self.concept_ids.by_name
        cid = self.concept_ids.get(name)
        if not known:
            self.concepts.append({"id": cid, "name": _clip(name, _NAME_MAX)})
        return cid

    def problem(self, raw: _RawProblem) -> dict | None:
        r = self.r
        before = len(r.errors)
        # Step folders are known steps even when their files are broken, so
        # the skill model is not blamed for them.
        for step in raw.steps:
            self.step_ids.setdefault(step.dir.name, step.file)
        data = raw.data
        pid = ptitle = None
        body = ""
        pvars: dict[str, str] = {}
        fallback = self.title
        if data is not _BAD:
            if not isinstance(data, dict):
                r.error(raw.file, "", f"must be a JSON object, not {_jtype(data)}")
            else:
                pid = r.string(raw.file, data, "id")
                if pid is not None and not pid.strip():
                    r.error(raw.file, "id", "is empty")
                    pid = None
                if pid:
                    if pid in self.problem_ids:
                        r.error(raw.file, "id", f"{pid!r} is also the id of {r.rel(self.problem_ids[pid])}")
                    self.problem_ids.setdefault(pid, raw.file)
                ptitle = r.string(raw.file, data, "title")
                if ptitle is not None and not ptitle.strip():
                    r.error(raw.file, "title", "is empty")
                body = r.string(raw.file, data, "body", required=False) or ""
                pvars = r.variables(raw.file, data)
                lesson = (r.string(raw.file, data, "lesson", required=False) or "").strip()
                course = (r.string(raw.file, data, "courseName", required=False) or "").strip()
                fallback = " — ".join(x for x in (course, lesson) if x) or self.title
                r.note_source(raw.file, data, "", r.problem_sources)

        subproblems, concepts = [], []
        for step in raw.steps:
            converted = self.step(step, pvars, fallback)
            if converted is not None:
                sub, step_concepts = converted
                subproblems.append(sub)
                concepts.extend(c for c in step_concepts if c not in concepts)
        if len(r.errors) > before or not pid or not ptitle or not subproblems:
            return None
        title = _text(ptitle, pvars)
        return {
            "id": self.problem_id_map.get(pid),
            "title": _clip(title, _NAME_MAX),
            "statement": "\n\n".join(x for x in (title, _text(body, pvars)) if x),
            "concepts": concepts,
            "answer": subproblems[-1]["answer"],
            "solution": " ".join(s["solution"] for s in subproblems),
            "subproblems": subproblems,
        }

    def step(self, raw: _RawStep, pvars: dict[str, str], fallback: str) -> tuple[dict, list[str]] | None:
        r = self.r
        before = len(r.errors)
        data, path = raw.data, raw.file
        if data is _BAD:
            self.hints(raw, pvars, "")  # still report a missing or broken pathway
            return None
        if not isinstance(data, dict):
            r.error(path, "", f"must be a JSON object, not {_jtype(data)}")
            return None
        sid = r.string(path, data, "id")
        if sid is not None and not sid.strip():
            r.error(path, "id", "is empty")
            sid = None
        if sid:
            if sid in self.step_ids and self.step_ids[sid] != path:
                r.error(path, "id", f"{sid!r} is also the id of {r.rel(self.step_ids[sid])}")
            self.step_ids.setdefault(sid, path)
        svars = {**pvars, **r.variables(path, data)}

        step_title = _text(r.string(path, data, "stepTitle", required=False) or "", svars)
        step_body = _text(r.string(path, data, "stepBody", required=False) or "", svars)
        units = _text(r.string(path, data, "units", required=False) or "", svars)
        question = "\n\n".join(x for x in (step_title, step_body) if x)
        if not question:
            r.error(path, "stepTitle", "missing or empty, and so is stepBody: the step asks nothing")
        if units:
            question += f"\n\n(Give the answer in {units}.)"

        answer = self.answer(path, data, svars)
        hints = self.hints(raw, svars, step_title or question)
        if len(r.errors) > before or answer is None or hints is None or not sid:
            return None
        spec, shown = answer

        names = self.skills_by_step.get(sid) or [fallback]
        concepts = [self.concept(name) for name in names]
        return {
            "question": question,
            "answer": spec,
            "hints": hints,
            "misconceptions": [],
            "solution": _sentence(f"The answer is {shown}"),
        }, concepts

    def answer(self, path: Path, data: dict, svars: dict[str, str]) -> tuple[dict, str] | None:
        """Our answer spec for a step, and the answer as shown in its solution."""
        r = self.r
        ptype = r.string(path, data, "problemType")
        if ptype is not None and ptype not in PROBLEM_TYPES:
            r.error(path, "problemType", f"{ptype!r} is not supported; expected one of {_TYPES}")
            ptype = None
        atype = r.string(path, data, "answerType", required=ptype == "TextBox")
        answers = r.strings(path, data, "stepAnswer")
        precision = data.get("precision")
        if precision is not None and (not isinstance(precision, int) or isinstance(precision, bool) or precision < 0):
            r.error(path, "precision", "must be a whole number of decimal places")
            precision = None
        choices = r.strings(path, data, "choices", min_items=2) if ptype == "MultipleChoice" else None
        if ptype is None or answers is None or (ptype == "MultipleChoice" and choices is None):
            return None
        return self.spec(path, "stepAnswer", ptype, atype, answers, choices, precision, svars)

    def spec(
        self,
        path: Path,
        where: str,
        ptype: str,
        atype: str | None,
        answers: list[str],
        choices: list[str] | None,
        precision: int | None,
        svars: dict[str, str],
    ) -> tuple[dict, str] | None:
        r = self.r
        shown = _display(answers[0], svars)
        if ptype == "MultipleChoice":
            options = [_text(c, svars) for c in choices or []]
            # checkAnswer.js compares choices ignoring white space
            squeezed = [re.sub(r"\s+", "", o) for o in options]
            wanted = re.sub(r"\s+", "", _text(answers[0], svars))
            if wanted not in squeezed:
                r.error(path, f"{where}[0]", f"{answers[0]!r} is not one of the choices")
                return None
            value = options[squeezed.index(wanted)]
            return {"kind": "choice", "choices": options, "value": value}, value
        plain = [_plain(a, svars) for a in answers]
        if ptype == "GridInput" or atype in TEXT_ANSWER_TYPES:
            return {"kind": "text", "references": plain}, shown
        if atype == "arithmetic":
            number = _number(plain[0])
            if number is not None:
                return {"kind": "number", "value": number}, shown
            expression = _expression(plain[0])
            if expression is not None:
                value, variables = expression
                spec: dict[str, Any] = {"kind": "expression", "value": value}
                if variables:
                    spec["variables"] = variables
                return spec, shown
            return {"kind": "text", "references": plain}, shown
        number = _number(plain[0])
        if number is None:
            r.error(path, f"{where}[0]", f"{answers[0]!r} is not a number (answerType {atype!r} compares numbers)")
            return None
        places = DEFAULT_PRECISION if precision is None else precision
        return {"kind": "number", "value": number, "tolerance": float(Decimal(5).scaleb(-places - 1))}, shown

    # ------------------------------------------------------------------ hints

    def hints(self, raw: _RawStep, svars: dict[str, str], step_title: str) -> list[str] | None:
        r = self.r
        path, data = raw.pathway_file, raw.pathway
        if data is _BAD:
            return None
        if data is None or data == []:
            if self.allow_missing_hints:
                return [f"Re-read the question: {step_title}" if step_title else "Re-read the question."]
            what = "missing" if data is None else "has no hints"
            r.error(
                path,
                "",
                f"{what}: every step needs at least one hint "
                "(allow_missing_hints=True gives it a 'Re-read the question' hint instead)",
            )
            return None
        if not isinstance(data, list):
            r.error(path, "", f"must be a JSON array of hints, not {_jtype(data)}")
            return None
        before = len(r.errors)
        ladder: list[str] = []
        for i, item in enumerate(data):
            self.hint(path, f"[{i}]", item, svars, ladder, depth=0)
        if len(r.errors) > before:
            return None
        if not ladder:
            r.error(path, "", "has no usable hints: every step needs at least one")
            return None
        return ladder

    def hint(self, path: Path, where: str, item: Any, svars: dict[str, str], ladder: list[str], depth: int) -> None:
        r = self.r
        if not isinstance(item, dict):
            r.error(path, where, f"must be an object, not {_jtype(item)}")
            return
        kind = r.string(path, item, "type", where)
        if kind is not None and kind not in HINT_TYPES:
            r.error(path, f"{where}.type", f"{kind!r} is not a hint type; expected hint, scaffold or solution")
            return
        hvars = {**svars, **r.variables(path, item, where)}
        text = _text(r.string(path, item, "text", where, required=False) or "", hvars)
        text = text or _text(r.string(path, item, "title", where, required=False) or "", hvars)
        if not text:
            r.error(path, f"{where}.text", "missing or empty")
        r.note_source(path, item, where, r.hint_sources)
        if kind in ("hint", "solution"):
            if text:
                ladder.append(text)
            return
        if kind != "scaffold":
            return
        # A scaffold is checked whole, sub-hints included, even when part of it is broken.
        answers = r.strings(path, item, "hintAnswer", where)
        ptype = item.get("problemType", "TextBox")
        question: str | None = text
        if ptype not in PROBLEM_TYPES:
            r.error(path, f"{where}.problemType", f"{ptype!r} is not supported; expected one of {_TYPES}")
            question = None
        elif ptype == "MultipleChoice":
            choices = r.strings(path, item, "choices", where, min_items=2)
            if choices is None:
                question = None
            else:
                question = f"{question} Choices: " + "; ".join(_text(c, hvars) for c in choices) + "."
        ladder.append(f"Try this first: {question}")
        subhints = item.get("subHints")
        if subhints is not None:
            if not isinstance(subhints, list):
                r.error(path, f"{where}.subHints", f"must be a list of hints, not {_jtype(subhints)}")
            elif subhints and depth >= MAX_HINT_DEPTH:
                r.error(path, f"{where}.subHints", "nested too deeply: a scaffold's scaffolds cannot have sub-hints")
            else:
                for j, sub in enumerate(subhints):
                    self.hint(path, f"{where}.subHints[{j}]", sub, hvars, ladder, depth + 1)
        if answers is not None:
            ladder.append(_sentence(f"The answer to that is {_display(answers[0], hvars)}"))


# ------------------------------------------------------------------------- helpers


def _jtype(value: Any) -> str:
    if value is _BAD:
        return "unreadable"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(type(value), type(value).__name__)


def _slug(name: str, *, lower: bool = False, hashed: bool = False) -> str:
    """``name`` as an id of 1–80 letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip())
    slug = re.sub(r"^[^A-Za-z0-9]+", "", slug).rstrip("-")
    if lower:
        slug = slug.lower()
    slug = slug or "x"
    if hashed or len(slug) > _ID_MAX:
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
        slug = f"{slug[: _ID_MAX - 9].rstrip('-._')}-{digest}"
    return slug


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _variabilize(text: str, svars: dict[str, str]) -> str:
    for name, value in svars.items():
        text = text.replace("@{" + name + "}", value)
    return text


_NEQ = "\x00neq\x00"


def _text(text: str, svars: dict[str, str]) -> str:
    """OATutor display text in our conventions: ``$...$`` maths, real line breaks, figure notes."""
    text = _variabilize(text, svars)
    # renderText.js splits lines at a literal \n after protecting \neq.
    text = text.replace("\\neq", _NEQ).replace("\\n", "\n").replace(_NEQ, "\\neq")
    parts = text.split("$$")
    unmatched = len(parts) - 1 if len(parts) % 2 == 0 else None  # a last $$ with no partner
    out = []
    for i, part in enumerate(parts):
        if i == unmatched:
            out.append("$$" + part)
        elif i % 2 == 1:
            out.append(f"${part.strip()}$")
        else:
            out.append(re.sub(r"\s*##([^#\n]+)##\s*", lambda m: f"\n[figure: {m.group(1).strip()}]\n", part))
    return "".join(out).strip()


def _display(answer: str, svars: dict[str, str]) -> str:
    """An answer as shown in a solution sentence: bare LaTeX gets ``$...$``."""
    shown = _text(answer, svars)
    if "\\" in shown and "$" not in shown:
        shown = f"${shown}$"
    return shown


def _plain(answer: str, svars: dict[str, str]) -> str:
    """An answer without its maths delimiters, as checkAnswer.js compares it."""
    text = _variabilize(answer, svars).strip()
    text = text.replace("$$", "")
    if len(text) > 1 and text.startswith("$") and text.endswith("$"):
        text = text[1:-1]
    return text.strip()


_SPACING = re.compile(r"\\[,;:! ]|\\left|\\right")
_FRAC = re.compile(r"([-+]?)\\[dt]?frac(?:\{(\d+)\}\{(\d+)\}|(\d)(\d))")


def _number(answer: str) -> str | None:
    """``answer`` as our number value when it is plainly a number, fraction or percentage."""
    s = _SPACING.sub("", answer).replace("{,}", ",").replace("\\%", "%").replace("−", "-")
    s = re.sub(r"\s+", "", s)
    rhs = re.fullmatch(r"[A-Za-z]=(.+)", s)
    if rhs:
        s = rhs.group(1)
    m = _FRAC.fullmatch(s)
    if m:
        num, den = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5))
        s = f"{m.group(1)}{num}/{den}"
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?%?", s):
        s = s.replace(",", "")
    if re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)%?", s) or re.fullmatch(r"[-+]?\d+/0*[1-9]\d*", s):
        s = s.lstrip("+")
        return s if parse_number(s) is not None else None
    return None


_LATEX_WORDS = {"cdot": "*", "times": "*", "div": "/", "pi": " pi ", "sin": " sin", "cos": " cos", "tan": " tan"}
_LATEX_WORDS |= {"ln": " log", "log": " log", "exp": " exp"}


def _braced(s: str, i: int) -> tuple[str | None, int]:
    """The argument of a LaTeX command at ``s[i:]``: a ``{...}`` group or one character."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return None, i
    if s[i] != "{":
        return (s[i], i + 1) if s[i].isalnum() else (None, i)
    depth = 0
    for j in range(i, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return s[i + 1 : j], j + 1
    return None, i


def _latex_to_plain(s: str) -> str | None:
    """Simple LaTeX arithmetic as plain text (``\\frac{a}{b}`` -> ``((a)/(b))``), or None."""
    out: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", s[i:])
            if not m:
                return None
            cmd = m.group(1)
            i += len(m.group(0))
            if cmd in ("frac", "dfrac", "tfrac"):
                num, i = _braced(s, i)
                den, i = _braced(s, i) if num is not None else (None, i)
                num = _latex_to_plain(num) if num is not None else None
                den = _latex_to_plain(den) if den is not None else None
                if num is None or den is None:
                    return None
                out.append(f"(({num})/({den}))")
            elif cmd == "sqrt":
                index = None
                if s.startswith("[", i):
                    end = s.find("]", i)
                    if end < 0:
                        return None
                    index, i = _latex_to_plain(s[i + 1 : end]), end + 1
                    if index is None:
                        return None
                arg, i = _braced(s, i)
                arg = _latex_to_plain(arg) if arg is not None else None
                if arg is None:
                    return None
                out.append(f"sqrt({arg})" if index is None else f"(({arg})^(1/({index})))")
            elif cmd in ("left", "right", ",", ";", ":", "!", " "):
                continue
            elif cmd in _LATEX_WORDS:
                out.append(_LATEX_WORDS[cmd])
            else:
                return None
        elif ch == "{":
            out.append("(")
            i += 1
        elif ch == "}":
            out.append(")")
            i += 1
        else:
            out.append("-" if ch == "−" else ch)
            i += 1
    return "".join(out)


def _small_powers(s: str) -> bool:
    """No nested powers, and no exponent over 3 digits: sympy would compute them."""
    s = s.replace("**", "^")
    for m in re.finditer(r"\^", s):
        rest = s[m.end() :].lstrip()
        if rest.startswith("("):
            depth, end = 0, len(rest)
            for j, c in enumerate(rest):
                depth += {"(": 1, ")": -1}.get(c, 0)
                if depth == 0:
                    end = j + 1
                    break
            exponent = rest[:end]
        else:
            token = re.match(r"[-+]?[\w.]*", rest)
            exponent = token.group(0) if token else ""
        if "^" in exponent or "*" in exponent or any(len(d) > 3 for d in re.findall(r"\d+", exponent)):
            return False
    return True


def _expression(answer: str) -> tuple[str, list[str]] | None:
    """``answer`` (OATutor LaTeX) in sympy syntax, with its variables, or None."""
    plain = _latex_to_plain(answer)
    if plain is None:
        return None
    rhs = re.fullmatch(r"\s*[A-Za-z]\s*=(.+)", plain)
    if rhs:
        plain = rhs.group(1)
    if not _small_powers(plain):
        return None
    expr = parse_expression(plain)
    if expr is None:
        return None
    value = str(expr)
    if parse_expression(value) is None:
        return None
    return value, sorted(str(symbol) for symbol in expr.free_symbols)


_CC_URL = re.compile(r"creativecommons\.org/licenses/([a-z]+(?:-[a-z]+)*)/(\d\.\d)", re.I)
_CC_NAME = re.compile(r"\bCC[\s-]+(BY(?:[\s-]+(?:NC|SA|ND))*)[\s-]+(\d\.\d)\b", re.I)


def _spdx(license_field: str) -> str | None:
    """The SPDX id of an OATutor ``license`` field (``"<url> <CC BY 4.0>"``), or None."""
    m = _CC_URL.search(license_field)
    if m:
        return f"CC-{m.group(1).upper()}-{m.group(2)}"
    m = _CC_NAME.search(license_field)
    if m:
        return "CC-" + re.sub(r"[\s-]+", "-", m.group(1).upper()) + f"-{m.group(2)}"
    if "publicdomain/zero/1.0" in license_field or re.search(r"\bCC0\b", license_field):
        return "CC0-1.0"
    return None


def _source_label(value: str) -> str:
    """``"https://x <Name>"`` as ``"Name (https://x)"``."""
    m = re.fullmatch(r"\s*(\S+)\s*<([^<>]+)>\s*", value)
    return f"{m.group(2).strip()} ({m.group(1)})" if m else value.strip()

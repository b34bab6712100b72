"""Import a validated curriculum package into the database, all or nothing.

``curriculum_import()`` is the one write path for curricula: the CLI
(``manage.py import_curriculum``), the admin upload page and the demo loader
all call it. It validates first and refuses with *every* issue; then one
transaction writes the whole curriculum as the next version of its id, using
bulk inserts: a generated package of 10,000 concepts, 30,000 edges and 50,000
problems imports into PostgreSQL in about 40 s (bench/import_scale.py).

Versioning: each import of an id creates version N+1. Classes that were
assigned an earlier version move to the new one for new sessions; sessions
already running keep pointing at their own version's problem.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass

from django.db import transaction

from tutor.curricula.indexing import passage_index_enqueue
from tutor.curricula.models import Concept, Curriculum, Item, Passage, Prerequisite, Problem, Subproblem
from tutor.curricula.validation import Issue, Report, validate_package

BATCH = 2000


class CurriculumInvalid(ValueError):
    """The package has problems; ``issues`` lists every one with its place."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        lines = "\n".join(f"  {issue}" for issue in issues[:50])
        more = f"\n  ... and {len(issues) - 50} more" if len(issues) > 50 else ""
        super().__init__(f"{len(issues)} problem(s) found:\n{lines}{more}")


@dataclass(frozen=True)
class ImportResult:
    curriculum: Curriculum | None  # None for a dry run
    report: Report


def package_sha256(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def curriculum_import(
    doc: object,
    *,
    source_format: str = "tutorgraph",
    break_cycles: bool = False,
    dry_run: bool = False,
    user=None,
) -> ImportResult:
    report = validate_package(doc, break_cycles_=break_cycles)
    if not report.ok:
        raise CurriculumInvalid(report.issues)
    if dry_run:
        return ImportResult(None, report)
    assert isinstance(doc, dict)
    doc = _without_edges(doc, report.dropped_edges)
    with transaction.atomic():
        curriculum = _write(doc, source_format=source_format, user=user)
        _audit_publish(curriculum, user=user, source_format=source_format)
        if doc.get("passages"):
            transaction.on_commit(lambda: passage_index_enqueue(curriculum.pk))
    return ImportResult(curriculum, report)


def _audit_publish(curriculum: Curriculum, *, user, source_format: str) -> None:
    """Every published curriculum is in the audit log, from the web (``user``) or the CLI (the system)."""
    from tutor.audit.actions import audit_record
    from tutor.audit.middleware import current_request

    audit_record(
        action="curriculum_publish",
        actor=user,
        object_type="curriculum",
        object_id=curriculum.pk,
        detail={"slug": curriculum.slug, "version": curriculum.version, "source_format": source_format},
        request=current_request(),
    )


def _without_edges(doc: dict, dropped: list[tuple[str, str]]) -> dict:
    """A copy of ``doc`` without the prerequisite edges ``(requires, concept)``."""
    if not dropped:
        return doc
    doc = copy.deepcopy(doc)
    gone = set(map(tuple, dropped))
    for concept in doc["concepts"]:
        cid = concept["id"]
        concept["prerequisites"] = [p for p in concept.get("prerequisites", []) if (p, cid) not in gone]
        groups = [[p for p in group if (p, cid) not in gone] for group in concept.get("any_of", [])]
        concept["any_of"] = [g for g in groups if g]
    return doc


def _write(doc: dict, *, source_format: str, user) -> Curriculum:
    slug = doc["id"]
    # Lock the id's rows so two concurrent imports cannot take the same version
    # (the unique key on slug+version catches the race on a brand-new id).
    latest = max(Curriculum.objects.select_for_update().filter(slug=slug).values_list("version", flat=True), default=0)
    curriculum = Curriculum.objects.create(
        slug=slug,
        version=latest + 1,
        title=doc["title"],
        description=doc.get("description", ""),
        language=doc.get("language", "en"),
        license=doc.get("license", ""),
        attribution=doc.get("attribution", ""),
        label=doc.get("version", ""),
        max_attempts=doc.get("settings", {}).get("max_attempts", 3),
        source_format=source_format,
        sha256=package_sha256(doc),
        imported_by=user,
    )
    concepts = Concept.objects.bulk_create(
        [
            Concept(
                curriculum=curriculum,
                key=c["id"],
                name=c["name"],
                description=c.get("description", ""),
                difficulty=c.get("difficulty"),
                standard=c.get("standard", ""),
                related=c.get("related", []),
            )
            for c in doc["concepts"]
        ],
        batch_size=BATCH,
    )
    by_key = {c.key: c.pk for c in concepts}
    links = []
    for c in doc["concepts"]:
        for req in c.get("prerequisites", []):
            links.append(Prerequisite(concept_id=by_key[c["id"]], requires_id=by_key[req], group=None))
        for g, group in enumerate(c.get("any_of", [])):
            links.extend(Prerequisite(concept_id=by_key[c["id"]], requires_id=by_key[r], group=g) for r in group)
    Prerequisite.objects.bulk_create(links, batch_size=BATCH, ignore_conflicts=True)

    passages = Passage.objects.bulk_create(
        [
            Passage(curriculum=curriculum, key=p["id"], text=p["text"], source=p.get("source", ""))
            for p in doc.get("passages", [])
        ],
        batch_size=BATCH,
    )
    _tag(Passage.concepts.through, "passage_id", passages, doc.get("passages", []), by_key)

    problems = Problem.objects.bulk_create(
        [
            Problem(
                curriculum=curriculum,
                key=p["id"],
                position=i,
                title=p["title"],
                statement=p["statement"],
                facts=p.get("facts", []),
                answer=p["answer"],
                solution=p["solution"],
            )
            for i, p in enumerate(doc.get("problems", []))
        ],
        batch_size=BATCH,
    )
    _tag(Problem.concepts.through, "problem_id", problems, doc.get("problems", []), by_key)
    Subproblem.objects.bulk_create(
        [
            Subproblem(
                problem_id=problem.pk,
                position=j,
                question=s["question"],
                answer=s["answer"],
                hints=s["hints"],
                misconceptions=[
                    {"id": m["id"], "answer": str(m["answer"]), "feedback": m["feedback"]}
                    for m in s.get("misconceptions", [])
                ],
                solution=s["solution"],
            )
            for problem, p in zip(problems, doc.get("problems", []), strict=True)
            for j, s in enumerate(p["subproblems"])
        ],
        batch_size=BATCH,
    )

    items = Item.objects.bulk_create(
        [
            Item(
                curriculum=curriculum,
                key=it["id"],
                position=i,
                question=it["question"],
                answer=it["answer"],
                irt_a=it.get("irt", {}).get("a"),
                irt_b=it.get("irt", {}).get("b"),
                irt_c=it.get("irt", {}).get("c"),
            )
            for i, it in enumerate(doc.get("items", []))
        ],
        batch_size=BATCH,
    )
    _tag(Item.concepts.through, "item_id", items, doc.get("items", []), by_key)

    _move_classes_to(curriculum)
    return curriculum


def _tag(through, owner_field: str, objects: list, entries: list[dict], by_key: dict[str, int]) -> None:
    rows = [
        through(**{owner_field: obj.pk, "concept_id": by_key[key]})
        for obj, entry in zip(objects, entries, strict=True)
        for key in dict.fromkeys(entry.get("concepts", []))
    ]
    through.objects.bulk_create(rows, batch_size=BATCH)


def _move_classes_to(curriculum: Curriculum) -> None:
    """Classes assigned an older version of this id now get the new one."""
    from tutor.accounts.models import Classroom

    older = Curriculum.objects.filter(slug=curriculum.slug).exclude(pk=curriculum.pk)
    for classroom in Classroom.objects.filter(curricula__in=older).distinct():
        classroom.curricula.remove(*older)
        classroom.curricula.add(curriculum)

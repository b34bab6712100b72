"""Curriculum import at scale: validation and the full import of a big package.

    .venv/bin/python bench/import_scale.py [--concepts 10000] [--edges 30000] [--problems 50000] \
        [--passages 3000] [--items 2000] [--seed 2026] \
        [--database-url postgres://postgres@127.0.0.1:5432/tutorgraph_import_bench] [--keep] [--profile]

What is measured
----------------
``curriculum_import(doc)`` is the one write path for curricula (CLI, admin
upload, demo loader). It validates the whole package (JSON Schema, graph
checks, answer parsing, misconception checks), then writes every row in one
transaction with ``bulk_create``. This bench builds one big, valid v1 package
and times, each in a fresh child process that has only loaded the package:

- ``validate_s``: ``validate_package(doc)`` alone;
- ``import_s``: the whole ``curriculum_import(doc)`` (validation, ``_write``
  and the commit, where PostgreSQL checks the deferred foreign keys), split
  into ``import_breakdown_s`` by thin timing wrappers around the module's own
  ``validate_package`` and ``_write`` (no product code is changed);
- ``peak_rss_mb``: ``ru_maxrss`` of the importing child, package included.

The package is generated deterministically (``--seed``): concepts
``c00001``..; prerequisite edges that only point from a lower to a higher
index (so the graph is a DAG), 60% of them from the 40 concepts just below
the target and the rest from anywhere below, about a quarter of the concepts
with three or more prerequisites getting an ``any_of`` group; a few thousand
passages; problems on fractions and percentages, each with two subproblems
whose answers are numbers in every accepted spelling (``"7/8"``, ``0.875``,
``"1 3/4"``, ``"25%"``, integers), two hints and one misconception whose
answer is checked to be wrong; concept tags; assessment items (choice and
number answers, some with IRT parameters).

Processes and memory
--------------------
The parent only orchestrates (it never holds the package): a child generates
the package into a JSON file; each measuring child reads it back with
``json.loads``, as the CLI does. Linux carries a process's peak RSS across
``execve`` (and ``subprocess`` starts children with ``vfork``), so a child
started from a parent that held the package would report the parent's peak;
a small parent avoids that. ``VmHWM`` (which ``execve`` resets) is reported
next to ``ru_maxrss`` as a cross-check, and so is the RSS right after loading
the package, to separate the input's share from the import's.

Why a COPY baseline
-------------------
Benchmarks here report a ratio against a baseline measured in the same run,
because machines (this one is shared, with two cores) are noisy. The baseline
is the floor for getting *the same rows* into *the same tables* from Python:
the same package file, the same row values (JSON fields serialised with
``json.dumps``, as the JSONField does), written with plain psycopg ``COPY``
into the real ``curricula_*`` tables (same indexes, unique constraints and
foreign keys) in one transaction, ids assigned client-side, then
``SET CONSTRAINTS ALL IMMEDIATE`` so the deferred foreign-key checks run, and
``ROLLBACK``. It runs in its own fresh child, before the import, followed by
``VACUUM`` so the import meets clean tables. No validation, no ORM, no
``RETURNING``: ``ratio_vs_baseline`` = import / baseline says how far the
product path is from what the database itself needs, independent of the
machine's speed, and ``write_vs_baseline`` does the same for ``_write``
alone (``bulk_create`` without validation).

``--profile`` adds one more child that runs ``validate_package`` and
``_write`` (inside a transaction that is rolled back) under cProfile, prints
the top functions to stderr and keeps the ``.prof`` files in
``--profile-dir``. Profiled times are not the reported ones.

Output: progress on stderr; the last line of stdout is one JSON object.
The bench database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent
TARGET_IMPORT_S = 60.0
TARGET_PEAK_RSS_MB = 2048.0
SLUG = "import-scale-bench"
_START = time.perf_counter()


@dataclass(frozen=True)
class Config:
    concepts: int = 10_000
    edges: int = 30_000
    problems: int = 50_000
    passages: int = 3_000
    items: int = 2_000
    seed: int = 2026
    database_url: str = "postgres://postgres@127.0.0.1:5432/tutorgraph_import_bench"
    keep: bool = False
    profile: bool = False
    profile_dir: str = str(REPO / "var" / "bench-import-scale")
    debug: bool = False  # DEBUG=1 in the children: Django keeps a log of every query's SQL

    def env(self) -> dict[str, str]:
        """Environment for manage.py and the measuring children, set before django.setup()."""
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tutor.settings",
            "DATABASE_URL": self.database_url,
            # Production-like by default: no DEBUG query log.
            "DEBUG": "1" if self.debug else "0",
            "SECURE": "0",
            "SECRET_KEY": "bench-only-secret-key-not-for-production",
            "LOG_LEVEL": "WARNING",
            # Measure the import itself; passage embeddings are a separate
            # background task in production (INDEX_PASSAGES=celery).
            "INDEX_PASSAGES": "off",
        }


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


# --- the package --------------------------------------------------------------
WORDS = (
    "fraction numerator denominator equal parts whole number line model area common multiple factor "
    "compare order add subtract multiply divide unit mixed improper decimal percent ratio rate scale "
    "estimate sum difference product quotient simplify equivalent least greatest value place tenth "
    "hundredth measure length share group array pattern reason explain check strategy"
).split()
NAMES = ("Maya", "Leo", "Ana", "Sam", "Priya", "Kofi", "Mei", "Omar", "Lena", "Tom")
THINGS = (("ran", "of a mile"), ("ate", "of a pizza"), ("painted", "of a fence"), ("read", "of a book"))


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _frac(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}" if x.denominator != 1 else str(x.numerator)


def _tex(x: Fraction) -> str:
    return f"$\\frac{{{x.numerator}}}{{{x.denominator}}}$" if x.denominator != 1 else f"${x.numerator}$"


def _spelling(rng: random.Random, x: Fraction) -> str | int | float:
    """``x`` in one of the spellings a package may use for a number answer."""
    options: list[str | int | float] = [_frac(x)]
    if x.denominator == 1:
        options.append(int(x))
    if 10**6 % x.denominator == 0:  # a terminating decimal, exactly
        options += [float(x), f"{float(x):g}"]
    if x > 1 and x.denominator != 1:
        whole = x.numerator // x.denominator
        options.append(f"{whole} {_frac(x - whole)}")
    return rng.choice(options)


def _wrong(right: Fraction, candidate: Fraction) -> Fraction:
    """A misconception answer that is genuinely wrong (never equal to the right one)."""
    return candidate if candidate != right else right + 1


def _edges(cfg: Config, rng: random.Random) -> dict[int, list[int]]:
    """``{target: [sources]}``: ``cfg.edges`` distinct edges, each from a lower to a higher index."""
    n = cfg.concepts
    wanted = min(cfg.edges, n * (n - 1) // 4)  # leave room on tiny graphs
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < wanted:
        v = rng.randint(2, n)
        u = rng.randint(max(1, v - 40), v - 1) if rng.random() < 0.6 else rng.randint(1, v - 1)
        chosen.add((u, v))
    incoming: dict[int, list[int]] = {}
    for u, v in sorted(chosen):
        incoming.setdefault(v, []).append(u)
    return incoming


def _concepts(cfg: Config, rng: random.Random, cid) -> list[dict]:
    incoming = _edges(cfg, rng)
    concepts = []
    for i in range(1, cfg.concepts + 1):
        sources = incoming.get(i, [])
        rng.shuffle(sources)
        c: dict = {"id": cid(i), "name": f"Concept {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}"}
        if rng.random() < 0.7:
            c["description"] = _sentence(rng, rng.randint(8, 20))
        if rng.random() < 0.8:
            c["difficulty"] = round(rng.uniform(-3, 3), 2)
        if rng.random() < 0.3:
            c["standard"] = f"{rng.randint(1, 8)}.NF.{rng.choice('ABC')}.{rng.randint(1, 7)}"
        groups: list[list[str]] = []
        while len(sources) >= 3 and rng.random() < 0.25 and len(groups) < 2:
            size = rng.choice((2, 2, 3))
            groups.append([cid(u) for u in sources[:size]])
            sources = sources[size:]
        if sources:
            c["prerequisites"] = [cid(u) for u in sorted(sources)]
        if groups:
            c["any_of"] = groups
        if rng.random() < 0.2 and cfg.concepts > 1:
            related = {rng.randint(1, cfg.concepts) for _ in range(rng.randint(1, 2))} - {i}
            if related:
                c["related"] = [cid(r) for r in sorted(related)]
        concepts.append(c)
    return concepts


def _subproblem(question: str, right: Fraction, wrong: Fraction, hints: list[str], mid: str, feedback: str, rng):
    return {
        "question": question,
        "answer": {"kind": "number", "value": _spelling(rng, right)},
        "hints": hints,
        "misconceptions": [{"id": mid, "answer": _spelling(rng, _wrong(right, wrong)), "feedback": feedback}],
        "solution": f"The answer is {_tex(right)}.",
    }


def _problem(rng: random.Random, key: str, tags: list[str]) -> dict:
    name, (verb, what) = rng.choice(NAMES), rng.choice(THINGS)
    kind = rng.randrange(3)
    if kind == 0:  # add unlike fractions
        b, d = rng.choice(range(2, 13)), rng.choice(range(2, 13))
        x, y = Fraction(rng.randint(1, b - 1), b), Fraction(rng.randint(1, d - 1), d)
        lcd, total = math.lcm(x.denominator, y.denominator), x + y
        title = f"Add {_frac(x)} and {_frac(y)}"
        statement = f"{name} {verb} {_tex(x)} {what} and then {_tex(y)} {what}. How much in all?"
        facts = [f"{_frac(x)} + {_frac(y)}"]
        subs = [
            _subproblem(
                f"What is the least common denominator of {_tex(x)} and {_tex(y)}?",
                Fraction(lcd),
                Fraction(x.denominator + y.denominator),
                [
                    f"Find the smallest number that {x.denominator} and {y.denominator} both divide.",
                    f"List the multiples of {max(x.denominator, y.denominator)}.",
                ],
                "sum-of-denominators",
                "Adding the denominators does not give a common denominator.",
                rng,
            ),
            _subproblem(
                f"What is {_tex(x)} + {_tex(y)}?",
                total,
                Fraction(x.numerator + y.numerator, x.denominator + y.denominator),
                [f"Rewrite both fractions over {lcd}.", "Add the numerators; keep the common denominator."],
                "add-across",
                "Adding numerators and denominators separately does not add the fractions.",
                rng,
            ),
        ]
    elif kind == 1:  # a whole number times a fraction
        n, b = rng.randint(2, 9), rng.choice(range(2, 13))
        x = Fraction(rng.randint(1, b - 1), b)
        total = n * x
        title = f"Multiply {n} by {_frac(x)}"
        statement = f"{name} {verb} {_tex(x)} {what} on each of {n} days. How much in all?"
        facts = [f"{n} groups of {_frac(x)}"]
        subs = [
            _subproblem(
                f"What is {n} × {x.numerator}?",
                Fraction(n * x.numerator),
                Fraction(n + x.numerator),
                [f"Multiply the numerator {x.numerator} by {n}.", f"{n} × {x.numerator} is {n} groups."],
                "added-instead",
                "That is the sum, not the product.",
                rng,
            ),
            _subproblem(
                f"What is {n} × {_tex(x)}?",
                total,
                Fraction(n * x.numerator, n * x.denominator),
                ["Only the numerator is multiplied by the whole number.", f"The denominator stays {x.denominator}."],
                "scaled-both",
                "Multiplying numerator and denominator by the same number gives an equivalent fraction.",
                rng,
            ),
        ]
    else:  # a percentage of a quantity
        p, q = rng.choice((5, 10, 20, 25, 40, 50, 75)), rng.randint(2, 40) * 4
        total = Fraction(p * q, 100)
        title = f"Find {p}% of {q}"
        statement = f"{name} has {q} stickers and gives away {p}% of them. How many stickers is that?"
        facts = [f"{p}% = {p}/100"]
        subs = [
            _subproblem(
                f"Write {p}% as a fraction or a decimal.",
                Fraction(p, 100),
                Fraction(p),
                ["Per cent means per hundred.", f"{p}% is {p} out of 100."],
                "percent-as-whole",
                "A percentage is a part of 100, not a whole number.",
                rng,
            ),
            _subproblem(
                f"What is {p}% of {q}?",
                total,
                Fraction(q * 100, p),
                [f"Multiply {q} by {p}/100.", f"Find 1% of {q} first."],
                "divided-instead",
                "Dividing by the fraction makes the number bigger; a part must be smaller.",
                rng,
            ),
        ]
    return {
        "id": key,
        "title": title,
        "statement": statement,
        "concepts": tags,
        "facts": facts,
        "answer": {"kind": "number", "value": _spelling(rng, total)},
        "solution": f"{subs[0]['solution']} Then: {subs[1]['solution']}",
        "subproblems": subs,
    }


def _item(rng: random.Random, key: str, tags: list[str]) -> dict:
    b, d = rng.choice(range(2, 13)), rng.choice(range(2, 13))
    x = Fraction(rng.randint(1, b - 1), b)
    item: dict = {"id": key, "concepts": tags}
    if rng.random() < 0.7:
        a, b = x.numerator, x.denominator
        right = f"{2 * a}/{2 * b}"
        choices = list(dict.fromkeys([right, f"{a + 1}/{b + 1}", f"{a}/{2 * b}", f"{2 * a}/{b}"]))
        rng.shuffle(choices)
        item["question"] = f"Which fraction is equivalent to {_tex(x)}?"
        item["answer"] = {"kind": "choice", "choices": choices, "value": right}
    else:
        item["question"] = f"What is {_tex(x)} + {_tex(Fraction(1, d))}?"
        item["answer"] = {"kind": "number", "value": _spelling(rng, x + Fraction(1, d))}
    if rng.random() < 0.5:
        item["irt"] = {"a": round(rng.uniform(0.5, 2.0), 2), "b": round(rng.uniform(-2, 2), 2), "c": 0.2}
    return item


def _tags(rng: random.Random, home: int, n: int, cid) -> list[str]:
    extra = {min(n, max(1, home + rng.randint(-20, 20))) for _ in range(rng.randint(0, 2))}
    return [cid(i) for i in dict.fromkeys([home, *sorted(extra - {home})])]


def generate_package(cfg: Config) -> dict:
    rng = random.Random(cfg.seed)
    width = max(5, len(str(cfg.concepts)))

    def cid(i: int) -> str:
        return f"c{i:0{width}d}"

    concepts = _concepts(cfg, rng, cid)
    passages = [
        {
            "id": f"passage-{k:05d}",
            "concepts": _tags(rng, 1 + k * cfg.concepts // max(cfg.passages, 1), cfg.concepts, cid),
            "text": " ".join(_sentence(rng, rng.randint(8, 16)) for _ in range(rng.randint(3, 6))),
            "source": "Tutorgraph import bench, CC-BY-4.0",
        }
        for k in range(cfg.passages)
    ]
    problems = [
        _problem(rng, f"problem-{k:06d}", _tags(rng, 1 + k * cfg.concepts // cfg.problems, cfg.concepts, cid))
        for k in range(cfg.problems)
    ]
    items = [
        _item(rng, f"item-{k:05d}", _tags(rng, 1 + k * cfg.concepts // max(cfg.items, 1), cfg.concepts, cid))
        for k in range(cfg.items)
    ]
    return {
        "format": "tutorgraph-curriculum/1",
        "id": SLUG,
        "title": "Import scale bench",
        "version": "bench",
        "description": f"Generated by bench/import_scale.py (seed {cfg.seed}).",
        "language": "en",
        "license": "CC-BY-4.0",
        "attribution": "Tutorgraph authors",
        "settings": {"max_attempts": 3},
        "concepts": concepts,
        "passages": passages,
        "problems": problems,
        "items": items,
    }


# --- the database ---------------------------------------------------------------
def _admin_url(cfg: Config) -> tuple[str, str]:
    url = urlparse(cfg.database_url)
    return urlunparse(url._replace(path="/postgres")), url.path.lstrip("/")


def reset_database(cfg: Config) -> None:
    import psycopg

    admin, name = _admin_url(cfg)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"database {name} created")


def drop_database(cfg: Config) -> None:
    import psycopg

    admin, name = _admin_url(cfg)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    log(f"database {name} dropped")


def vacuum(cfg: Config) -> None:
    import psycopg

    with psycopg.connect(cfg.database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def manage(cfg: Config, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=cfg.env(), capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed with exit status {result.returncode}")
    log(f"manage.py {' '.join(args)}: ok")


# --- children ---------------------------------------------------------------------
def child(cfg: Config, mode: str, package: Path) -> dict:
    """Run ``mode`` in a fresh interpreter; its last stdout line is its JSON result."""
    args = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--package", str(package)]
    args += ["--database-url", cfg.database_url, "--profile-dir", cfg.profile_dir]
    for name in ("concepts", "edges", "problems", "passages", "items", "seed"):
        args += [f"--{name}", str(getattr(cfg, name))]
    result = subprocess.run(args, cwd=REPO, env=cfg.env(), stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise SystemExit(f"child {mode!r} failed with exit status {result.returncode}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _memory() -> dict[str, float]:
    """Peak RSS as getrusage reports it, and VmHWM / VmRSS from /proc (MiB)."""
    out = {"ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[f"{key.lower()}_mb"] = int(value.split()[0]) / 1024
    return {k: round(v, 1) for k, v in out.items()}


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load(package: Path) -> tuple[dict, float]:
    t = time.perf_counter()
    doc = json.loads(package.read_bytes().decode("utf-8"))
    return doc, time.perf_counter() - t


def _django() -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def child_generate(cfg: Config, package: Path) -> dict:
    t = time.perf_counter()
    doc = generate_package(cfg)
    generate_s = time.perf_counter() - t
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    package.write_bytes(data)
    problems = doc["problems"]
    return {
        "generate_s": round(generate_s, 2),
        "package_bytes": len(data),
        "concepts": len(doc["concepts"]),
        "edges": sum(len(c.get("prerequisites", [])) + sum(map(len, c.get("any_of", []))) for c in doc["concepts"]),
        "any_of_groups": sum(len(c.get("any_of", [])) for c in doc["concepts"]),
        "passages": len(doc["passages"]),
        "problems": len(problems),
        "subproblems": sum(len(p["subproblems"]) for p in problems),
        "items": len(doc["items"]),
        "generator_memory": _memory(),
    }


def child_validate(cfg: Config, package: Path) -> dict:
    doc, load_s = _load(package)
    loaded = _memory()
    _django()
    from tutor.curricula.validation import validate_package

    cpu, t = _cpu_s(), time.perf_counter()
    report = validate_package(doc)
    validate_s = time.perf_counter() - t
    if not report.ok:
        for issue in report.issues[:20]:
            log(f"  {issue}")
        raise SystemExit(f"the generated package is invalid: {len(report.issues)} issue(s)")
    return {
        "load_s": round(load_s, 2),
        "validate_s": round(validate_s, 3),
        "cpu_s": round(_cpu_s() - cpu, 2),
        "after_load": loaded,
        "memory": _memory(),
        "summary": {k: v for k, v in report.summary.items() if k != "dropped_edges"},
    }


def child_import(cfg: Config, package: Path) -> dict:
    doc, load_s = _load(package)
    loaded = _memory()
    _django()
    from django.apps import apps

    import tutor.curricula.importer as importer

    split: dict[str, float] = {}

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                split[name] = time.perf_counter() - t

        return wrapper

    importer.validate_package = timed("validate", importer.validate_package)
    importer._write = timed("write", importer._write)
    cpu, t = _cpu_s(), time.perf_counter()
    result = importer.curriculum_import(doc)
    import_s = time.perf_counter() - t
    cpu_s = _cpu_s() - cpu
    memory = _memory()  # before counting, which allocates nothing much but is not the import
    tables = {
        model._meta.db_table: model.objects.count()
        for model in apps.get_app_config("curricula").get_models(include_auto_created=True)
    }
    return {
        "load_s": round(load_s, 2),
        "import_s": round(import_s, 3),
        "import_breakdown_s": {
            "validate": round(split["validate"], 3),
            "write": round(split["write"], 3),
            "commit_and_rest": round(import_s - split["validate"] - split["write"], 3),
        },
        "cpu_s": round(cpu_s, 2),
        "version": result.curriculum.version,
        "after_load": loaded,
        "memory": memory,
        "tables": tables,
    }


# Columns of each table as the 0001 migration creates them, in COPY order.
COLUMNS = {
    "curricula_curriculum": "id slug version title description language license attribution label max_attempts "
    "source_format sha256 imported_by_id created_at",
    "curricula_concept": "id curriculum_id key name description difficulty standard related",
    "curricula_prerequisite": "id concept_id requires_id group",
    "curricula_passage": "id curriculum_id key text source",
    "curricula_passage_concepts": "id passage_id concept_id",
    "curricula_problem": "id curriculum_id key position title statement facts answer solution",
    "curricula_problem_concepts": "id problem_id concept_id",
    "curricula_subproblem": "id problem_id position question answer hints misconceptions solution",
    "curricula_item": "id curriculum_id key position question answer irt_a irt_b irt_c",
    "curricula_item_concepts": "id item_id concept_id",
}


def _baseline_rows(doc: dict, start: dict[str, int]):
    """``(table, rows)`` for every table, the same values ``_write`` stores, ids from ``start``."""
    from datetime import UTC, datetime

    dumps = json.dumps
    ids = dict(start)

    def next_id(table: str) -> int:
        ids[table] += 1
        return ids[table]

    cur_id = next_id("curricula_curriculum")
    yield (
        "curricula_curriculum",
        [
            (cur_id, "bench-baseline", 1, doc["title"], doc.get("description", ""), doc.get("language", "en"))
            + (doc.get("license", ""), doc.get("attribution", ""), doc.get("version", ""), 3, "tutorgraph", "")
            + (None, datetime.now(UTC))
        ],
    )
    by_key = {}
    rows = []
    for c in doc["concepts"]:
        by_key[c["id"]] = pk = next_id("curricula_concept")
        rows.append(
            (pk, cur_id, c["id"], c["name"], c.get("description", ""), c.get("difficulty"), c.get("standard", ""))
            + (dumps(c.get("related", [])),)
        )
    yield "curricula_concept", rows
    rows = []
    for c in doc["concepts"]:
        for req in c.get("prerequisites", []):
            rows.append((next_id("curricula_prerequisite"), by_key[c["id"]], by_key[req], None))
        for g, group in enumerate(c.get("any_of", [])):
            rows.extend((next_id("curricula_prerequisite"), by_key[c["id"]], by_key[r], g) for r in group)
    yield "curricula_prerequisite", rows

    def tagged(section: str, table: str, make):
        owners, tags = [], []
        for i, entry in enumerate(doc.get(section, [])):
            pk = next_id(table)
            owners.append(make(pk, i, entry))
            for key in dict.fromkeys(entry.get("concepts", [])):
                tags.append((next_id(f"{table}_concepts"), pk, by_key[key]))
        return owners, tags

    passages, tags = tagged(
        "passages", "curricula_passage", lambda pk, i, p: (pk, cur_id, p["id"], p["text"], p.get("source", ""))
    )
    yield "curricula_passage", passages
    yield "curricula_passage_concepts", tags
    problems, tags = tagged(
        "problems",
        "curricula_problem",
        lambda pk, i, p: (
            (pk, cur_id, p["id"], i, p["title"], p["statement"], dumps(p.get("facts", [])))
            + (dumps(p["answer"]), p["solution"])
        ),
    )
    yield "curricula_problem", problems
    yield "curricula_problem_concepts", tags
    rows = []
    for problem_row, p in zip(problems, doc.get("problems", []), strict=True):
        for j, s in enumerate(p["subproblems"]):
            misconceptions = [
                {"id": m["id"], "answer": str(m["answer"]), "feedback": m["feedback"]}
                for m in s.get("misconceptions", [])
            ]
            rows.append(
                (next_id("curricula_subproblem"), problem_row[0], j, s["question"], dumps(s["answer"]))
                + (dumps(s["hints"]), dumps(misconceptions), s["solution"])
            )
    yield "curricula_subproblem", rows
    items, tags = tagged(
        "items",
        "curricula_item",
        lambda pk, i, it: (
            (pk, cur_id, it["id"], i, it["question"], dumps(it["answer"]))
            + tuple(it.get("irt", {}).get(k) for k in "abc")
        ),
    )
    yield "curricula_item", items
    yield "curricula_item_concepts", tags


def child_baseline(cfg: Config, package: Path) -> dict:
    import psycopg

    doc, load_s = _load(package)
    counts = {}
    with psycopg.connect(cfg.database_url) as conn:
        start = {t: conn.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0] for t in COLUMNS}
        conn.rollback()
        t = time.perf_counter()
        with conn.cursor() as cur:
            for table, rows in _baseline_rows(doc, start):
                cols = ", ".join(f'"{c}"' for c in COLUMNS[table].split())
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                counts[table] = len(rows)
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign-key checks run now
        baseline_s = time.perf_counter() - t
        conn.rollback()
    return {"load_s": round(load_s, 2), "baseline_s": round(baseline_s, 3), "rows": sum(counts.values())}


def child_profile(cfg: Config, package: Path) -> dict:
    import cProfile
    import io
    import pstats

    doc, _ = _load(package)
    _django()
    from django.db import transaction

    from tutor.curricula.importer import _write
    from tutor.curricula.validation import validate_package

    out = Path(cfg.profile_dir)
    out.mkdir(parents=True, exist_ok=True)
    wall = {}
    for name, run in (
        ("validate_package", lambda: validate_package(doc)),
        ("_write", lambda: _write_rolled_back(doc, _write, transaction)),
    ):
        profiler = cProfile.Profile()
        t = time.perf_counter()
        profiler.runcall(run)
        wall[name] = round(time.perf_counter() - t, 2)
        path = out / f"{name.strip('_')}.prof"
        profiler.dump_stats(path)
        for sort in ("tottime", "cumulative"):
            buffer = io.StringIO()
            pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats(sort).print_stats(25)
            log(f"cProfile {name} by {sort} ({path}):\n{buffer.getvalue()}")
    return {"profiled_wall_s": wall, "profile_dir": str(out)}


def _write_rolled_back(doc: dict, write, transaction) -> None:
    with transaction.atomic():
        write(doc, source_format="tutorgraph", user=None)
        transaction.set_rollback(True)


CHILDREN = {
    "generate": child_generate,
    "validate": child_validate,
    "import": child_import,
    "baseline": child_baseline,
    "profile": child_profile,
}


# --- the run ------------------------------------------------------------------------
def run(cfg: Config) -> dict:
    load_start = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="import-scale-") as tmp:
        package = Path(tmp) / "package.json"
        log(f"generating the package (seed {cfg.seed}) ...")
        gen = child(cfg, "generate", package)
        log(
            f"package: {gen['concepts']} concepts, {gen['edges']} edges ({gen['any_of_groups']} any_of groups), "
            f"{gen['passages']} passages, {gen['problems']} problems, {gen['subproblems']} subproblems, "
            f"{gen['items']} items; {gen['package_bytes'] / 2**20:.1f} MiB of JSON in {gen['generate_s']} s"
        )
        reset_database(cfg)
        try:
            manage(cfg, "migrate", "--no-input")
            log("baseline: COPY of the same rows into the same tables, then rollback ...")
            base = child(cfg, "baseline", package)
            vacuum(cfg)
            log(f"baseline: {base['rows']} rows in {base['baseline_s']} s")
            log("validate_package ...")
            val = child(cfg, "validate", package)
            log(f"validate_package: {val['validate_s']} s, peak {val['memory']['ru_maxrss_mb']} MiB")
            log("curriculum_import ...")
            imp = child(cfg, "import", package)
            log(
                f"curriculum_import: {imp['import_s']} s {imp['import_breakdown_s']}, "
                f"peak {imp['memory']['ru_maxrss_mb']} MiB"
            )
            prof = None
            if cfg.profile:
                log("profiling validate_package and _write (rolled back) ...")
                prof = child(cfg, "profile", package)
        finally:
            if not cfg.keep:
                drop_database(cfg)
    rows = sum(imp["tables"].values())
    peak = imp["memory"]["ru_maxrss_mb"]
    write_s = imp["import_breakdown_s"]["write"]
    sys.path.insert(0, str(REPO))
    from tutor.curricula.package import MAX_FILE_BYTES  # pure, no Django

    out = {
        "benchmark": "import_scale",
        "concepts": gen["concepts"],
        "edges": gen["edges"],
        "problems": gen["problems"],
        "subproblems": gen["subproblems"],
        "rows": rows,
        "validate_s": val["validate_s"],
        "import_s": imp["import_s"],
        "rows_per_s": round(rows / imp["import_s"]),
        "peak_rss_mb": peak,
        "baseline_s": base["baseline_s"],
        "ratio_vs_baseline": round(imp["import_s"] / base["baseline_s"], 2),
        "target": {
            "import_s": TARGET_IMPORT_S,
            "peak_rss_mb": TARGET_PEAK_RSS_MB,
            "met": imp["import_s"] < TARGET_IMPORT_S and peak < TARGET_PEAK_RSS_MB,
        },
        "import_breakdown_s": imp["import_breakdown_s"],
        "write_vs_baseline": round(write_s / base["baseline_s"], 2),
        "import_cpu_s": imp["cpu_s"],
        "validate_cpu_s": val["cpu_s"],
        "memory_mb": {
            "import_peak": imp["memory"],
            "import_after_load": imp["after_load"],
            "validate_peak": val["memory"],
            "generator": gen["generator_memory"],
        },
        "baseline_rows": base["rows"],
        "tables": imp["tables"],
        "package": {
            "bytes": gen["package_bytes"],
            "passages": gen["passages"],
            "items": gen["items"],
            "any_of_groups": gen["any_of_groups"],
            "over_read_package_limit": gen["package_bytes"] > MAX_FILE_BYTES,
            "seed": cfg.seed,
        },
        "debug": cfg.debug,
        # Other work on this machine shows here, and as wall time above the children's cpu_s.
        "loadavg_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)},
    }
    if prof:
        out["profile"] = prof
    return out


def parse_args(argv: list[str] | None) -> tuple[Config, argparse.Namespace]:
    d = Config()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concepts", type=int, default=d.concepts)
    parser.add_argument("--edges", type=int, default=d.edges, help="prerequisite edges, any_of members included")
    parser.add_argument("--problems", type=int, default=d.problems, help="each with 2 subproblems")
    parser.add_argument("--passages", type=int, default=d.passages)
    parser.add_argument("--items", type=int, default=d.items)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--database-url", default=d.database_url, help="dropped and re-created")
    parser.add_argument("--keep", action="store_true", help="keep the bench database at the end")
    parser.add_argument("--profile", action="store_true", help="also cProfile validate_package and _write")
    parser.add_argument("--profile-dir", default=d.profile_dir, help="where --profile keeps its .prof files")
    parser.add_argument("--debug", action="store_true", help="run the children with DEBUG=1 (query log on)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--package", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.concepts < 2 or args.problems < 1:
        parser.error("need at least 2 concepts and 1 problem")
    cfg = Config(
        concepts=args.concepts,
        edges=args.edges,
        problems=args.problems,
        passages=args.passages,
        items=args.items,
        seed=args.seed,
        database_url=args.database_url,
        keep=args.keep,
        profile=args.profile,
        profile_dir=args.profile_dir,
        debug=args.debug,
    )
    return cfg, args


def main(argv: list[str] | None = None) -> int:
    cfg, args = parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](cfg, args.package)), flush=True)
        return 0
    log(f"config: {json.dumps(asdict(cfg))}")
    out = run(cfg)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

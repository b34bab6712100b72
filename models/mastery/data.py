"""Read the ASSISTments 2009 "builder" split: three lines per student.

The file format (from the DKT release of ASSISTments 2009 skill-builder data)
is, per student, one line with the number of responses, one with the
comma-separated skill ids, one with the comma-separated 0/1 outcomes. Lines
may end with a trailing comma, so empty fields are dropped. Skill ids are kept
as strings: the mastery models key everything by concept id, and a product
concept id is a string too.

>>> import io
>>> seqs = read_sequences(io.StringIO("3,\\n5,5,7,\\n1,0,1,\\n1\\n7\\n0\\n"))
>>> [(s.skills, s.correct) for s in seqs]
[(['5', '5', '7'], [1, 0, 1]), (['7'], [0])]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass
class Sequence:
    """One student's responses in order: ``skills[t]`` was answered ``correct[t]`` (1 or 0)."""

    skills: list[str]
    correct: list[int]


def _fields(line: str) -> list[str]:
    return [f.strip() for f in line.strip().split(",") if f.strip()]


def read_sequences(source: str | Path | TextIO) -> list[Sequence]:
    """All students of one split, in file order. Raises ``ValueError`` naming the line of a malformed record."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8") as fh:
            return read_sequences(fh)
    lines = [line for line in source.read().splitlines() if line.strip()]
    if len(lines) % 3:
        raise ValueError(f"expected three lines per student, got {len(lines)} lines")
    seqs = []
    for i in range(0, len(lines), 3):
        n = int(_fields(lines[i])[0])
        skills = _fields(lines[i + 1])
        correct = [int(x) for x in _fields(lines[i + 2])]
        if not (n == len(skills) == len(correct)) or any(c not in (0, 1) for c in correct):
            raise ValueError(f"line {i + 1}: count {n}, {len(skills)} skills, {len(correct)} outcomes")
        seqs.append(Sequence(skills, correct))
    return seqs

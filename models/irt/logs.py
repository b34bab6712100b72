"""Read response logs from CSV into the integer arrays the estimator takes.

The CSV has a header with the columns ``person,item,correct`` (any order,
other columns ignored) and one response a line; ``correct`` is 0 or 1 (also
``true``/``false``). Ids are strings, mapped to 0..n-1 in order of first
appearance. A malformed line is refused with its line number.

>>> import io
>>> logs = read_responses(io.StringIO("person,item,correct\\nann,q1,1\\nben,q1,0\\n"))
>>> logs.item_ids, logs.correct.tolist()
(['q1'], [1, 0])
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import TextIO

import numpy as np

REQUIRED = ("person", "item", "correct")
TRUE = {"1", "true", "t", "yes"}
FALSE = {"0", "false", "f", "no"}


class ResponsesError(ValueError):
    """The CSV cannot be read; the message names the line and what is wrong."""


@dataclass(frozen=True)
class ResponseLog:
    person: np.ndarray  # int64 person index per response
    item: np.ndarray  # int64 item index per response
    correct: np.ndarray  # int8 0/1 per response
    person_ids: list[str]
    item_ids: list[str]


def read_responses(fh: TextIO, *, name: str = "responses") -> ResponseLog:
    reader = csv.reader(fh)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ResponsesError(f"{name}: the file is empty; expected a header person,item,correct") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ResponsesError(f"{name}: line 1: the header lacks {', '.join(missing)} (expected person,item,correct)")
    at = {c: header.index(c) for c in REQUIRED}
    people: dict[str, int] = {}
    items: dict[str, int] = {}
    person, item, correct = [], [], []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) < len(header):
                raise ResponsesError(f"{name}: line {line}: expected {len(header)} fields, found {len(record)}")
            p, i, c = (record[at[k]].strip() for k in REQUIRED)
            if not p or not i:
                raise ResponsesError(f"{name}: line {line}: person and item must not be empty")
            value = c.lower()
            if value not in TRUE and value not in FALSE:
                raise ResponsesError(f"{name}: line {line}: correct must be 0 or 1, not {c!r}")
            person.append(people.setdefault(p, len(people)))
            item.append(items.setdefault(i, len(items)))
            correct.append(1 if value in TRUE else 0)
    except csv.Error as exc:
        raise ResponsesError(f"{name}: line {reader.line_num}: {exc}") from None
    if not person:
        raise ResponsesError(f"{name}: no responses after the header")
    return ResponseLog(
        person=np.asarray(person, dtype=np.int64),
        item=np.asarray(item, dtype=np.int64),
        correct=np.asarray(correct, dtype=np.int8),
        person_ids=list(people),
        item_ids=list(items),
    )

"""From a tutor turn to learner-model evidence (the Diagnostician's seam). Pure.

>>> [e.correct for e in turn_evidence({"evaluation": "b", "action": 3}, "answer", ["frac.lcd"])]
[True]
>>> [e.kind for e in turn_evidence({"evaluation": "f", "action": 8}, "hint_request", ["frac.lcd"])]
['hint']
"""

from __future__ import annotations

from models.mastery import Evidence


def turn_evidence(record: dict, student_kind: str, concepts: list[str]) -> list[Evidence]:
    """Evidence about each of the problem's concepts from one answered student message.

    A correct step is evidence for mastery, a wrong one (evaluation ``a``)
    against it, a hint request weak evidence against; unclear, off-topic or
    greeting turns say nothing about what the student knows.
    """
    if student_kind == "hint_request":
        return [Evidence(c, False, kind="hint") for c in concepts]
    evaluation = record.get("evaluation")
    if evaluation == "b":
        return [Evidence(c, True, kind="subproblem") for c in concepts]
    if evaluation == "a":
        return [Evidence(c, False, kind="subproblem") for c in concepts]
    return []

"""Evidence along prerequisite edges, and readiness with AND and any_of (OR) prerequisites.

Graph conventions are ``knowledge_graph``'s: ``u -> v`` means u is a
prerequisite of v; an edge's ``kind`` is ``"prerequisite"`` (AND) or
``"any_of"``; node attribute ``any_of`` lists v's OR groups.

Why evidence flows the way it does:

- **Success flows up.** Solving v uses its prerequisites, so a success on v
  is discounted success evidence for each AND prerequisite (``discount`` per
  hop). Of an any_of group only one member was needed, so only the member
  most likely to have been used (the highest mastery) gets the credit.
- **Failure flows down.** Failing u says little about which of u's own
  prerequisites is missing, but a learner who cannot do u is unlikely to do
  what needs u: discounted failure evidence for each dependent. Through an
  any_of group it is further scaled by ``1 - max mastery of the other
  members``: if another route is mastered, u's failure hardly matters to v.
- **Readiness** of v is the product of its AND prerequisites' mastery times,
  per any_of group, the max over the group: P(all required are mastered) if
  masteries were independent, with an OR group as good as its best member.
  ``combine="min"`` gives the weakest-link variant.

>>> import networkx as nx
>>> G = nx.DiGraph()
>>> G.add_edge("count", "add", kind="prerequisite")
>>> G.add_edge("add", "mul", kind="any_of")
>>> G.add_edge("sub", "mul", kind="any_of")
>>> G.nodes["mul"]["any_of"] = [["add", "sub"]]
>>> m = {"count": 0.9, "add": 0.8, "sub": 0.3}
>>> round(readiness(G, "mul", m), 2), round(readiness(G, "add", m), 2)
(0.8, 0.9)
>>> [(e.concept, e.weight) for e in propagate(G, m, Evidence("mul", True))]
[('add', 0.5), ('count', 0.25)]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

import networkx as nx

from models.mastery.state import Evidence

MasteryOf = Mapping[str, float] | Callable[[str], float]


@dataclass(frozen=True)
class PropagationConfig:
    """How far and how strongly evidence spreads. Weights below ``min_weight`` are dropped."""

    success_discount: float = 0.5
    failure_discount: float = 0.3
    max_depth: int = 2
    min_weight: float = 0.02


def _getter(masteries: MasteryOf, default: float) -> Callable[[str], float]:
    if callable(masteries):
        return masteries
    return lambda c: float(masteries.get(c, default))


def and_prerequisites(G: nx.DiGraph, concept: str) -> list[str]:
    """AND prerequisites; an edge without a ``kind`` counts as AND (``knowledge_graph`` reads it so too)."""
    return [u for u, _, kind in G.in_edges(concept, data="kind") if kind != "any_of"]


def any_of_groups(G: nx.DiGraph, concept: str) -> list[list[str]]:
    """The non-empty OR groups of ``concept``."""
    return [g for g in G.nodes[concept].get("any_of") or [] if g]


def readiness(
    G: nx.DiGraph,
    concept: str,
    masteries: MasteryOf,
    combine: Literal["product", "min"] = "product",
    default: float = 0.0,
) -> float:
    """How ready the learner is for ``concept``: 1.0 when it has no prerequisites."""
    m = _getter(masteries, default)
    parts = [m(u) for u in and_prerequisites(G, concept)]
    parts += [max(m(u) for u in group) for group in any_of_groups(G, concept)]
    if combine == "min":
        return min(parts, default=1.0)
    out = 1.0
    for p in parts:
        out *= p
    return out


def propagate(
    G: nx.DiGraph,
    masteries: MasteryOf,
    evidence: Evidence,
    config: PropagationConfig | None = None,
    default: float = 0.0,
) -> list[Evidence]:
    """The discounted, ``inferred`` evidence that ``evidence`` implies for neighbouring concepts.

    Breadth-first up to ``max_depth`` hops; a concept reached twice keeps its
    largest weight. ``masteries`` (a mapping or a function) decides the any_of
    cases. The evidence's own concept is never a target. Ordered by weight, then id.
    """
    cfg = config or PropagationConfig()
    if evidence.concept not in G:
        return []
    m = _getter(masteries, default)
    up = evidence.positive
    discount = cfg.success_discount if up else cfg.failure_discount
    best: dict[str, float] = {}
    frontier = [(evidence.concept, evidence.weight)]
    for _ in range(cfg.max_depth):
        nxt = []
        for concept, w in frontier:
            for target, factor in _steps_up(G, concept, m) if up else _steps_down(G, concept, m):
                tw = w * discount * factor
                if target != evidence.concept and tw >= cfg.min_weight and tw > best.get(target, 0.0):
                    best[target] = tw
                    nxt.append((target, tw))
        frontier = nxt
    return [
        replace(evidence, concept=c, weight=w, inferred=True)
        for c, w in sorted(best.items(), key=lambda cw: (-cw[1], cw[0]))
    ]


def _steps_up(G: nx.DiGraph, concept: str, m: Callable[[str], float]) -> list[tuple[str, float]]:
    steps = [(u, 1.0) for u in and_prerequisites(G, concept)]
    # Of each OR group, credit the member most likely used (ties: the smallest id, for determinism).
    steps += [(max(sorted(group), key=m), 1.0) for group in any_of_groups(G, concept)]
    return steps


def _steps_down(G: nx.DiGraph, concept: str, m: Callable[[str], float]) -> list[tuple[str, float]]:
    steps = []
    for _, v, kind in G.out_edges(concept, data="kind"):
        if kind != "any_of":
            steps.append((v, 1.0))
            continue
        for group in any_of_groups(G, v):
            if concept in group:
                others = [u for u in group if u != concept]
                steps.append((v, 1.0 - max((m(u) for u in others), default=0.0)))
    return steps

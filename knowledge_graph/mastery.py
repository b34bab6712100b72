"""A student's mastery laid over the concept graph: what is ready, what a goal still needs.

Mastery estimates (from IRT or knowledge tracing) are probabilities; planning
needs a yes/no, so a concept counts as mastered at or above a threshold
``tau``. The functions below take that yes/no as a plain set of concept ids,
so they can be used with any estimator, or with a hypothetical set when the
planner asks "what if the student learns X next?".

A concept is *ready* when every AND prerequisite is mastered and each any_of
group has at least one mastered member. An empty any_of group (one that
``break_cycles`` emptied) asks for nothing.

>>> from knowledge_graph.graph import build_graph
>>> G = build_graph(
...     [
...         {"id": "count", "name": "Counting"},
...         {"id": "add", "name": "Addition", "prerequisites": ["count"]},
...         {"id": "sub", "name": "Subtraction", "prerequisites": ["count"]},
...         {"id": "mul", "name": "Multiplication", "prerequisites": ["count"], "any_of": [["add", "sub"]]},
...     ]
... )
>>> ready_concepts(G, {"count"})
['add', 'sub']
>>> is_ready(G, "mul", {"count", "sub"})
True
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import networkx as nx

from knowledge_graph.graph import topological_order

DEFAULT_TAU = 0.8


def overlay_mastery(G: nx.DiGraph, mastery: Mapping[str, float], tau: float = DEFAULT_TAU) -> nx.DiGraph:
    """A copy of ``G`` whose nodes carry ``mastery`` (default 0.0) and ``mastered`` (``mastery >= tau``).

    A copy, so one shared curriculum graph serves many students. Estimates for
    concepts not in ``G`` are ignored: a student's record may span curricula.

    >>> G = nx.DiGraph([("count", "add")])
    >>> H = overlay_mastery(G, {"count": 0.9, "add": 0.5, "elsewhere": 1.0})
    >>> H.nodes["count"], H.nodes["add"]
    ({'mastery': 0.9, 'mastered': True}, {'mastery': 0.5, 'mastered': False})
    >>> "mastery" in G.nodes["count"]
    False
    """
    H = G.copy()
    for node, data in H.nodes(data=True):
        data["mastery"] = float(mastery.get(node, 0.0))
        data["mastered"] = data["mastery"] >= tau
    return H


def mastered_concepts(G: nx.DiGraph) -> set[str]:
    """The concepts an ``overlay_mastery`` graph marks mastered, as the set the other functions take.

    >>> sorted(mastered_concepts(overlay_mastery(nx.DiGraph([("a", "b")]), {"a": 0.8})))
    ['a']
    """
    return {node for node, mastered in G.nodes(data="mastered") if mastered}


def is_ready(G: nx.DiGraph, concept: str, mastered: Collection[str]) -> bool:
    """Whether every AND prerequisite of ``concept`` is mastered and each any_of group has a mastered member.

    Readiness says nothing about ``concept`` itself: a mastered concept can be ready too.
    """
    if concept not in G:
        raise nx.NodeNotFound(f"concept {concept!r} is not in the graph")
    return all(u in mastered for u in _and_prerequisites(G, concept)) and all(
        any(m in mastered for m in group) for group in _any_of_groups(G, concept)
    )


def ready_concepts(G: nx.DiGraph, mastered: Collection[str]) -> list[str]:
    """Unmastered concepts the student can start now, prerequisites first, ties by id.

    ``G`` must be a DAG (``break_cycles`` first).
    """
    return [c for c in topological_order(G) if c not in mastered and is_ready(G, c, mastered)]


@dataclass
class Requirements:
    """What a goal still needs: concepts that must be learned, and groups where one must be chosen.

    ``required`` is the unmastered AND-closure of the goal's prerequisites.
    ``choices`` are the unsatisfied any_of groups met on the way, each sorted;
    the caller picks one member per group (by difficulty, interest, ...) and
    asks again for that member's own requirements.
    """

    required: set[str] = field(default_factory=set)
    choices: list[list[str]] = field(default_factory=list)


def required_prerequisites(G: nx.DiGraph, goal: str, mastered: Collection[str]) -> Requirements:
    """The unmastered prerequisites ``goal`` needs, with the any_of choices left to the caller.

    The walk stops at mastered concepts (their own prerequisites are taken as
    known) and does not enter an any_of group, because which member to learn
    is a teaching decision, not a graph fact. A group is dropped when one of
    its members is required anyway. Nothing is needed for a mastered goal.

    >>> from knowledge_graph.graph import build_graph
    >>> G = build_graph(
    ...     [
    ...         {"id": "count", "name": "Counting"},
    ...         {"id": "add", "name": "Addition", "prerequisites": ["count"]},
    ...         {"id": "sub", "name": "Subtraction", "prerequisites": ["count"]},
    ...         {"id": "mul", "name": "Multiplication", "any_of": [["sub", "add"]]},
    ...         {"id": "area", "name": "Area", "prerequisites": ["mul"]},
    ...     ]
    ... )
    >>> required_prerequisites(G, "area", set())
    Requirements(required={'mul'}, choices=[['add', 'sub']])
    """
    if goal not in G:
        raise nx.NodeNotFound(f"concept {goal!r} is not in the graph")
    needs = Requirements()
    if goal in mastered:
        return needs
    stack = [goal]
    while stack:
        concept = stack.pop()
        for u in _and_prerequisites(G, concept):
            if u not in mastered and u not in needs.required and u != goal:
                needs.required.add(u)
                stack.append(u)
        for group in _any_of_groups(G, concept):
            if not any(m in mastered for m in group) and sorted(group) not in needs.choices:
                needs.choices.append(sorted(group))
    needs.choices = sorted(group for group in needs.choices if not needs.required.intersection(group))
    return needs


def _and_prerequisites(G: nx.DiGraph, concept: str) -> list[str]:
    # An edge without a kind (a graph built by hand) is read as a plain AND prerequisite.
    return [u for u, _, kind in G.in_edges(concept, data="kind") if kind != "any_of"]


def _any_of_groups(G: nx.DiGraph, concept: str) -> list[list[str]]:
    return [group for group in G.nodes[concept].get("any_of") or [] if group]

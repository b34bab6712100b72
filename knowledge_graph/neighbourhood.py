"""Concepts near a concept: for context, review and retrieval.

When a student works on a concept, the tutor looks around it: the
prerequisites to review when they struggle, the dependents it unlocks, and
related concepts (the Coherence Map's non-prerequisite links, kept in
``G.graph["related"]``). ``neighbourhood_weights`` turns hop distance into a
weight so retrieval can prefer material about nearby concepts.

>>> G = nx.DiGraph([("count", "add"), ("add", "mul"), ("mul", "area")], related=[("area", "shapes")])
>>> G.add_node("shapes")
>>> sorted(neighbourhood(G, "mul"))
['add', 'area', 'mul']
>>> sorted(prerequisites_of(G, "mul"))
['add', 'count']
"""

from __future__ import annotations

import itertools

import networkx as nx


def neighbourhood(G: nx.DiGraph, concept: str, radius: int = 1, *, include_related: bool = True) -> set[str]:
    """``concept`` and every concept within ``radius`` hops of it, in either direction.

    Direction is ignored because both sides matter near a concept: what it
    builds on and what builds on it. A related link counts as one hop.

    >>> G = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "d")], related=[("a", "z")])
    >>> G.add_node("z")
    >>> sorted(neighbourhood(G, "b", radius=2))
    ['a', 'b', 'c', 'd', 'z']
    >>> sorted(neighbourhood(G, "b", radius=2, include_related=False))
    ['a', 'b', 'c', 'd']
    """
    return set(_hop_distances(G, concept, radius, include_related))


def prerequisites_of(G: nx.DiGraph, concept: str, depth: int | None = None) -> set[str]:
    """Concepts ``concept`` builds on, at most ``depth`` prerequisite steps back (all when None).

    >>> sorted(prerequisites_of(nx.DiGraph([("a", "b"), ("b", "c")]), "c", depth=1))
    ['b']
    """
    return set(nx.single_source_shortest_path_length(G.reverse(copy=False), concept, cutoff=depth)) - {concept}


def dependents_of(G: nx.DiGraph, concept: str, depth: int | None = None) -> set[str]:
    """Concepts that build on ``concept``, at most ``depth`` steps forward (all when None).

    >>> sorted(dependents_of(nx.DiGraph([("a", "b"), ("b", "c")]), "a"))
    ['b', 'c']
    """
    return set(nx.single_source_shortest_path_length(G, concept, cutoff=depth)) - {concept}


def neighbourhood_weights(
    G: nx.DiGraph, concept: str, radius: int = 2, *, include_related: bool = True, decay: float = 0.5
) -> dict[str, float]:
    """``decay ** hops`` for each concept in the neighbourhood: 1.0 for ``concept``, 0.5 a hop away, ...

    Used to boost retrieval scores of material tagged with nearby concepts.

    >>> neighbourhood_weights(nx.DiGraph([("a", "b"), ("b", "c"), ("c", "d")]), "b")
    {'b': 1.0, 'a': 0.5, 'c': 0.5, 'd': 0.25}
    """
    return {c: decay**hops for c, hops in _hop_distances(G, concept, radius, include_related).items()}


def _hop_distances(G: nx.DiGraph, concept: str, radius: int, include_related: bool) -> dict[str, int]:
    """Breadth-first hop counts from ``concept``, ignoring edge direction, up to ``radius``."""
    if concept not in G:
        raise nx.NodeNotFound(f"concept {concept!r} is not in the graph")
    if radius < 0:
        raise ValueError(f"radius must be at least 0, got {radius}")
    related: dict[str, set[str]] = {}
    if include_related:
        for u, v in G.graph.get("related", []):
            if u in G and v in G:
                related.setdefault(u, set()).add(v)
                related.setdefault(v, set()).add(u)
    hops = {concept: 0}
    frontier = [concept]
    for distance in range(1, radius + 1):
        next_frontier = []
        for node in frontier:
            for other in itertools.chain(G.predecessors(node), G.successors(node), sorted(related.get(node, ()))):
                if other not in hops:
                    hops[other] = distance
                    next_frontier.append(other)
        frontier = next_frontier
    return hops

"""Build, check and order a concept prerequisite graph.

A curriculum author's mistakes show only when the graph is whole: a typo in a
prerequisite id, the same id twice, a cycle. So the work is split in two.
``validate_graph`` reads the plain concept dicts and reports *every* problem,
each with the JSON path of the entry to fix, so one run of the checker is
enough to fix a file. ``build_graph`` trusts its input and only builds.

Cycles get special care because real data has them (the Coherence Map does):
``find_cycles`` lists them, bounded, and ``break_cycles`` removes the edges a
depth-first search finds pointing back up its own stack. ``validate_graph``
points each cycle at one of those same back edges, so the issue names the
declaration that ``break_cycles`` would drop.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import networkx as nx

CYCLE_LIMIT = 50
# How many cycles beyond the limit validate_graph counts before it says "at least".
_MORE_COUNTED = 10_000


@dataclass(frozen=True)
class GraphIssue:
    """One problem: where it is (a JSON path), what is wrong, and a stable ``code`` for programs."""

    path: str
    message: str
    code: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def build_graph(concepts: list[dict], *, related: Sequence[tuple[str, str]] = ()) -> nx.DiGraph:
    """The prerequisite DiGraph of ``concepts`` (see the package docstring for its shape).

    It does not validate: run ``validate_graph`` first. On bad input it still
    builds something (a later duplicate id overwrites the earlier attributes, an
    unknown prerequisite id becomes a node without attributes, a cycle stays).

    >>> G = build_graph(
    ...     [
    ...         {"id": "count", "name": "Counting"},
    ...         {"id": "add", "name": "Addition", "prerequisites": ["count"]},
    ...         {"id": "sub", "name": "Subtraction", "prerequisites": ["count"]},
    ...         {"id": "mul", "name": "Multiplication", "any_of": [["add", "sub"]]},
    ...     ],
    ...     related=[("add", "sub")],
    ... )
    >>> G.edges["count", "add"]
    {'kind': 'prerequisite', 'group': None}
    >>> G.edges["sub", "mul"]
    {'kind': 'any_of', 'group': 0}
    >>> G.nodes["mul"]["any_of"], G.graph["related"]
    ([['add', 'sub']], [('add', 'sub')])
    """
    G = nx.DiGraph(related=[tuple(pair) for pair in related])
    for c in concepts:
        G.add_node(
            c["id"],
            name=c.get("name", c["id"]),
            description=c.get("description", ""),
            difficulty=c.get("difficulty"),
            standard=c.get("standard"),
            any_of=[list(group) for group in c.get("any_of", [])],
        )
    for c in concepts:
        for g, group in enumerate(c.get("any_of", [])):
            for u in group:
                G.add_edge(u, c["id"], kind="any_of", group=g)
        # AND edges last: if a concept is listed both ways, the stronger requirement wins.
        for u in c.get("prerequisites", []):
            G.add_edge(u, c["id"], kind="prerequisite", group=None)
    return G


def validate_graph(concepts: list[dict], *, path: str = "concepts", cycle_limit: int = CYCLE_LIMIT) -> list[GraphIssue]:
    """Every problem in ``concepts``, in file order, then the cycles; an empty list means valid.

    Codes: ``invalid_shape``, ``duplicate_id``, ``unknown_concept``,
    ``self_prerequisite``, ``duplicate_prerequisite``, ``empty_any_of_group``
    and ``cycle``. A cycle's path is the declaration of its depth-first back
    edge, the edge ``break_cycles`` removes, and that edge is the message's
    last arrow: ``cycle: a -> b -> a`` at ``a``'s entry means "a lists b".

    >>> for issue in validate_graph(
    ...     [
    ...         {"id": "a", "name": "A", "prerequisites": ["b"]},
    ...         {"id": "b", "name": "B", "prerequisites": ["a", "zz"]},
    ...         {"id": "a", "name": "A again", "any_of": [[]]},
    ...     ]
    ... ):
    ...     print(issue)
    concepts[1].prerequisites[1]: unknown concept 'zz'
    concepts[2].id: duplicate id 'a' (first at concepts[0])
    concepts[2].any_of[0]: empty any_of group: name at least one concept
    concepts[0].prerequisites[0]: cycle: a -> b -> a
    """
    if not isinstance(concepts, list):
        return [GraphIssue(path, f"expected a list of concepts, got {type(concepts).__name__}", "invalid_shape")]
    first_at: dict[str, int] = {}  # every id is known before any reference is checked
    for i, c in enumerate(concepts):
        if isinstance(c, dict) and isinstance(c.get("id"), str) and c["id"]:
            first_at.setdefault(c["id"], i)
    issues: list[GraphIssue] = []
    declared: dict[tuple[str, str], str] = {}  # edge (u, v) -> path of its first declaration
    for i, c in enumerate(concepts):
        issues.extend(_entry_issues(c, i, path, first_at))
        if not isinstance(c, dict) or not isinstance(c.get("id"), str):
            continue
        for ref_path, u in _references(c, f"{path}[{i}]", issues):
            v = c["id"]
            if u not in first_at:
                issues.append(GraphIssue(ref_path, f"unknown concept {u!r}", "unknown_concept"))
            elif u == v:
                issues.append(GraphIssue(ref_path, f"{v!r} lists itself as a prerequisite", "self_prerequisite"))
            elif (u, v) in declared:
                message = f"{u!r} is already a prerequisite of {v!r} at {declared[u, v]}"
                issues.append(GraphIssue(ref_path, message, "duplicate_prerequisite"))
            else:
                declared[u, v] = ref_path
    issues.extend(_cycle_issues(nx.DiGraph(list(declared)), declared, path, cycle_limit))
    return issues


def _entry_issues(c: object, i: int, path: str, first_at: dict[str, int]) -> Iterator[GraphIssue]:
    here = f"{path}[{i}]"
    if not isinstance(c, dict):
        yield GraphIssue(here, f"expected an object, got {type(c).__name__}", "invalid_shape")
        return
    cid = c.get("id")
    if not isinstance(cid, str) or not cid:
        yield GraphIssue(f"{here}.id", "id must be a non-empty string", "invalid_shape")
    elif first_at[cid] != i:
        yield GraphIssue(f"{here}.id", f"duplicate id {cid!r} (first at {path}[{first_at[cid]}])", "duplicate_id")
    if not isinstance(c.get("name"), str) or not c["name"]:
        yield GraphIssue(f"{here}.name", "name must be a non-empty string", "invalid_shape")
    difficulty = c.get("difficulty")
    if difficulty is not None and (isinstance(difficulty, bool) or not isinstance(difficulty, int | float)):
        yield GraphIssue(f"{here}.difficulty", "difficulty must be a number or null", "invalid_shape")
    for key in ("description", "standard"):
        if c.get(key) is not None and not isinstance(c[key], str):
            yield GraphIssue(f"{here}.{key}", f"{key} must be a string or null", "invalid_shape")


def _references(c: dict, here: str, issues: list[GraphIssue]) -> Iterator[tuple[str, str]]:
    """(path, id) of every prerequisite named by one entry, in order; shape problems go to ``issues``."""
    prerequisites = c.get("prerequisites", [])
    if isinstance(prerequisites, list):
        yield from _ids(enumerate(prerequisites), f"{here}.prerequisites", issues)
    else:
        issues.append(GraphIssue(f"{here}.prerequisites", "prerequisites must be a list of ids", "invalid_shape"))
    groups = c.get("any_of", [])
    if not isinstance(groups, list):
        issues.append(GraphIssue(f"{here}.any_of", "any_of must be a list of lists of ids", "invalid_shape"))
        return
    for g, group in enumerate(groups):
        if not isinstance(group, list):
            issues.append(GraphIssue(f"{here}.any_of[{g}]", "an any_of group must be a list of ids", "invalid_shape"))
        elif not group:
            message = "empty any_of group: name at least one concept"
            issues.append(GraphIssue(f"{here}.any_of[{g}]", message, "empty_any_of_group"))
        else:
            yield from _ids(enumerate(group), f"{here}.any_of[{g}]", issues)


def _ids(items: Iterator[tuple[int, object]], here: str, issues: list[GraphIssue]) -> Iterator[tuple[str, str]]:
    for j, u in items:
        if isinstance(u, str):
            yield f"{here}[{j}]", u
        else:
            issues.append(GraphIssue(f"{here}[{j}]", f"expected a concept id string, got {u!r}", "invalid_shape"))


def _cycle_issues(G: nx.DiGraph, declared: dict[tuple[str, str], str], path: str, limit: int) -> list[GraphIssue]:
    back = set(_back_edges(G))
    found = find_cycles(G, limit=limit + _MORE_COUNTED)
    issues = []
    for cycle in found[:limit]:
        # Every cycle holds at least one depth-first back edge; read the cycle from its target.
        u, v = next((u, v) for u, v in itertools.pairwise(cycle + cycle[:1]) if (u, v) in back)
        start = cycle.index(v)
        loop = cycle[start:] + cycle[:start] + [v]
        issues.append(GraphIssue(declared[u, v], "cycle: " + " -> ".join(loop), "cycle"))
    hidden = len(found) - limit
    if hidden > 0:
        count = f"at least {hidden}" if hidden == _MORE_COUNTED else str(hidden)
        issues.append(GraphIssue(path, f"{count} more cycles not listed; fix these and validate again", "cycle"))
    return issues


def find_cycles(G: nx.DiGraph, limit: int = CYCLE_LIMIT) -> list[list[str]]:
    """Up to ``limit`` elementary cycles, each starting at its smallest id, in sorted order.

    Bounded because a tangled graph has exponentially many cycles. A cycle
    ``[a, b]`` means a -> b -> a; a self-loop is ``[a]``.

    >>> find_cycles(nx.DiGraph([("b", "a"), ("a", "b"), ("b", "c"), ("c", "c")]))
    [['a', 'b'], ['c']]
    """
    cycles = []
    for cycle in itertools.islice(nx.simple_cycles(G), limit):
        start = cycle.index(min(cycle))
        cycles.append(cycle[start:] + cycle[:start])
    return sorted(cycles)


def break_cycles(G: nx.DiGraph) -> list[tuple[str, str]]:
    """Remove back edges in place until ``G`` is a DAG; return the removed edges for the caller to report.

    A depth-first search (roots and successors in sorted order, so the result
    is deterministic) meets every cycle as an edge into a node still on its
    stack; with those edges gone no cycle is left. It is not a minimum
    feedback arc set (that problem is NP-hard) but it removes one edge per
    2-cycle. A removed any_of edge also leaves its concept's ``any_of`` group.

    >>> G = build_graph(
    ...     [
    ...         {"id": "a", "name": "A", "prerequisites": ["b"]},
    ...         {"id": "b", "name": "B", "prerequisites": ["a"]},
    ...     ]
    ... )
    >>> break_cycles(G)
    [('b', 'a')]
    >>> nx.is_directed_acyclic_graph(G), list(G.edges)
    (True, [('a', 'b')])
    """
    removed = _back_edges(G)
    for u, v in removed:
        G.remove_edge(u, v)
        groups = G.nodes[v].get("any_of")
        if groups:
            G.nodes[v]["any_of"] = [[m for m in group if m != u] for group in groups]
    return removed


def _back_edges(G: nx.DiGraph) -> list[tuple[str, str]]:
    """Edges into a node on the depth-first stack (iterative, so deep graphs cannot overflow)."""
    done: set[str] = set()
    on_stack: set[str] = set()
    back = []
    for root in sorted(G):
        if root in done:
            continue
        on_stack.add(root)
        stack = [(root, iter(sorted(G.successors(root))))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_stack.discard(node)
                done.add(node)
            elif child in on_stack:
                back.append((node, child))
            elif child not in done:
                on_stack.add(child)
                stack.append((child, iter(sorted(G.successors(child)))))
    return back


def topological_order(G: nx.DiGraph) -> list[str]:
    """Concepts with every prerequisite before its dependents, ties broken by id.

    The tie-break makes plans and test output stable across runs. Raises
    ``networkx.NetworkXUnfeasible`` on a cycle: call ``break_cycles`` first.

    >>> topological_order(nx.DiGraph([("b", "c"), ("a", "c"), ("c", "d")]))
    ['a', 'b', 'c', 'd']
    """
    return list(nx.lexicographical_topological_sort(G))

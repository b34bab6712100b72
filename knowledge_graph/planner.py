"""The multi-goal learning-path planner: the cheapest set of concepts that reaches every goal, in order.

Sources are the learner's mastered concepts (mastery >= ``tau``), sinks the
goals. The planner chooses the concepts to learn, ``S``, so that every goal is
in S (or mastered) and every concept of S has each AND prerequisite mastered or
in S and at least one member of each any_of group mastered or in S, at the
least total cost (``plan_cost.CostModel``: expected practice attempts). Then it
orders S prerequisites-first and says why each step is there. ``docs/planner.md``
has the cost model, the bound and a worked example.

Algorithm (greedy weighted set cover, then local improvement):

1. The region: unmastered ancestors of the goals, the walk stopping at mastered
   concepts and at any_of groups a mastered member already satisfies. W is the
   part of it every plan must contain (goals, AND-closure, one-member groups).
2. Greedy: while a goal is uncovered, build for each uncovered goal its route
   (the prerequisite-closed set needed to reach it given what is chosen,
   taking in each unsatisfied any_of group the member whose own route is
   cheapest) and take the route with the least marginal cost per newly
   covered element of W.
3. Improvement, which never raises the cost (``plan_bounds.solve``): drop
   redundant concepts, then local search: add the route of an unchosen any_of
   member, or forbid a chosen concept and route again, keeping what the goals
   then need when the total falls (this finds a shared member that serves
   several goals at once, which step 2 cannot see).
4. Order: topological, ties broken towards neighbours of the previous step
   (same parent, dependent or related link) and then easy-to-hard by cost.

The guarantee is the greedy set-cover bound (Chvatal 1979): cost <= H(|W|) *
OPT <= (1 + ln|W|) * OPT for the set-cover instance whose sets are the
candidate routes; ``docs/planner.md`` states the argument and when it carries
over to the learning-path optimum. Each plan also carries a certified
``lower_bound`` (the LP relaxation, or the cost of W on huge regions), so
``cost / lower_bound`` bounds how far that plan can be from optimal.

Per graph, an index (integer ids, requirement lists, a topological position) is
built once and cached; a plan afterwards costs one walk over the region, so
``replan`` after a mastery change is a fresh plan on the warm index.

>>> from knowledge_graph.graph import build_graph
>>> G = build_graph([
...     {"id": "count", "name": "Counting"},
...     {"id": "add", "name": "Addition", "prerequisites": ["count"], "difficulty": -1.0},
...     {"id": "sub", "name": "Subtraction", "prerequisites": ["count"], "difficulty": 1.0},
...     {"id": "mul", "name": "Multiplication", "any_of": [["add", "sub"]]},
... ])
>>> plan = plan_path(G, {"count": 0.97, "sub": 0.3}, ["mul"])
>>> plan.steps, round(plan.cost, 2), round(plan.lower_bound, 2), plan.certificate
(['add', 'mul'], 18.34, 18.34, 'lp')
>>> plan.reasons["add"]
'needed by goal mul; chosen from its any_of group [add, sub] as the cheaper route; no mastery estimate yet'
>>> replan(plan, {"add": 0.99}).steps
['mul']
"""

from __future__ import annotations

import gc
import heapq
import math
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import networkx as nx
import numpy as np

from knowledge_graph.plan_bounds import ClosureProblem, forced, lp_lower_bound, solve
from knowledge_graph.plan_cost import CostModel

# Stricter than the progress page's "mastered" colour (knowledge_graph.mastery.DEFAULT_TAU = 0.8): the
# planner moves a learner on only when it is confident, so a concept shown as mastered at 0.85 can still
# be on the plan, as practice until 0.95.
DEFAULT_PLAN_TAU = 0.95
# Above this many concepts with any_of choices the LP is skipped and the plan certifies cost(W) instead.
LP_MAX_CONCEPTS = 20_000

CostSpec = CostModel | Mapping[str, float] | Callable[[str], float] | None


class PlanError(ValueError):
    """A plan cannot be made; the message names the concepts at fault."""


class UnknownConceptError(PlanError):
    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = sorted(set(ids))
        super().__init__("unknown concept id(s): " + ", ".join(self.ids))


class PlanCycleError(PlanError):
    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        path = " -> ".join([*cycle, cycle[0]])
        super().__init__(f"cycle: {path}; break it (knowledge_graph.break_cycles) or mark one of them mastered")


class UnreachableGoalError(PlanError):
    def __init__(self, goal: str, why: str) -> None:
        self.goal, self.why = goal, why
        super().__init__(f"goal {goal!r} is unreachable: {why}")


@dataclass(eq=False)
class GraphIndex:
    """A graph's requirements on integer ids, built once per graph (``plan_index``)."""

    ids: list[str]
    index: dict[str, int]
    requires: list[list[int]]  # AND prerequisites
    any_of: list[list[list[int]]]  # OR groups; [] for a group whose members are all missing
    missing: dict[int, list[list[str]]]  # node -> per group, members that are not in the graph
    position: list[int]  # topological rank (of the strongly connected component on a cyclic graph)
    cyclic: set[int]  # nodes on a cycle
    related: dict[int, list[int]]
    attrs: list[dict]
    fingerprint: tuple[int, int]


_INDEXES: weakref.WeakKeyDictionary[nx.DiGraph, GraphIndex] = weakref.WeakKeyDictionary()


def plan_index(G: nx.DiGraph) -> GraphIndex:
    """The cached index of ``G``, rebuilt when its node or edge count changed.

    Graphs are treated as read-only once planned on (curriculum versions never
    change); after editing one in place with equal counts, ``_INDEXES.pop(G)``.
    """
    fingerprint = (G.number_of_nodes(), G.number_of_edges())
    cached = _INDEXES.get(G)
    if cached is None or cached.fingerprint != fingerprint:
        with _gc_paused():
            cached = _INDEXES[G] = _build_index(G, fingerprint)
    return cached


@contextmanager
def _gc_paused():
    """Building hundreds of thousands of small lists triggers full collections that walk the whole graph
    (a third of the build time on 100,000 nodes); nothing here makes reference cycles, so pause them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build_index(G: nx.DiGraph, fingerprint: tuple[int, int]) -> GraphIndex:
    # One pass over the edges and one over the nodes: per-node views cost seconds on 100,000 nodes.
    ids = list(G)
    index = {v: i for i, v in enumerate(ids)}
    requires: list[list[int]] = [[] for _ in ids]
    successors: list[list[int]] = [[] for _ in ids]
    by_edge: dict[int, dict] = {}
    for u, v, kind, group in _edges(G):
        i, j = index[u], index[v]
        successors[i].append(j)
        if kind == "any_of":
            by_edge.setdefault(j, {}).setdefault(group, []).append(i)
        else:  # "prerequisite", or a hand-built edge without a kind
            requires[j].append(i)
    attrs = [data for _, data in G.nodes(data=True)]
    any_of: list[list[list[int]]] = []
    missing: dict[int, list[list[str]]] = {}
    for i, data in enumerate(attrs):
        declared = data.get("any_of")
        if declared is None:  # no attribute: the groups are the edges'
            any_of.append([m for _, m in sorted(by_edge.get(i, {}).items(), key=lambda kv: str(kv[0]))])
            continue
        groups = [group for group in declared if group]  # an empty group asks for nothing
        any_of.append([[index[u] for u in group if u in index] for group in groups])
        absent = [[u for u in group if u not in index] for group in groups]
        if any(absent):
            missing[i] = absent
    position, cyclic = _positions(G, ids, index, successors)
    related: dict[int, list[int]] = {}
    for u, v in G.graph.get("related", []):
        if u in index and v in index:
            related.setdefault(index[u], []).append(index[v])
            related.setdefault(index[v], []).append(index[u])
    return GraphIndex(ids, index, requires, any_of, missing, position, cyclic, related, attrs, fingerprint)


def _edges(G: nx.DiGraph):
    for u, v, data in G.edges(data=True):
        yield u, v, data.get("kind"), data.get("group")


def _positions(G: nx.DiGraph, ids: list[str], index: dict[str, int], successors: list[list[int]]):
    """Kahn's algorithm on integers; on a cyclic graph, the condensation's order and the cyclic nodes."""
    indegree = [0] * len(ids)
    for targets in successors:
        for w in targets:
            indegree[w] += 1
    queue = [i for i, d in enumerate(indegree) if d == 0]
    position = [0] * len(ids)
    for rank, i in enumerate(queue):  # the queue grows while it is read
        position[i] = rank
        for w in successors[i]:
            indegree[w] -= 1
            if indegree[w] == 0:
                queue.append(w)
    if len(queue) == len(ids):
        return position, set()
    condensed = nx.condensation(G)
    rank = {c: r for r, c in enumerate(nx.topological_sort(condensed))}
    cyclic = set()
    for c, members in condensed.nodes(data="members"):
        for v in members:
            position[index[v]] = rank[c]
        if len(members) > 1 or any(G.has_edge(v, v) for v in members):
            cyclic.update(index[v] for v in members)
    return position, cyclic


@dataclass
class Plan:
    """A learning path: ``steps`` in order, their total ``cost``, and how close to optimal it is.

    ``lower_bound`` <= the optimum <= ``cost`` (certified by ``certificate``:
    "exact" when no any_of choice was involved, "lp" for the LP relaxation,
    "forced" for the cost of W). ``bound_factor`` is 1 + ln |W| where |W| =
    ``required``, the concepts every plan must contain. ``reasons`` explains
    every step and ``step_costs`` gives its expected attempts; ``review`` lists
    steps taken although mastered because they were marked weak; ``reached``
    the goals already mastered.
    """

    steps: list[str]
    cost: float
    lower_bound: float
    bound_factor: float
    reasons: dict[str, str]
    goals: list[str]
    step_costs: dict[str, float] = field(default_factory=dict)
    review: list[str] = field(default_factory=list)
    reached: list[str] = field(default_factory=list)
    required: int = 0
    certificate: str = "exact"
    _inputs: _Inputs | None = field(default=None, repr=False, compare=False)

    @property
    def next_step(self) -> str | None:
        return self.steps[0] if self.steps else None

    @property
    def gap(self) -> float:
        """``cost / lower_bound``: this plan is at most this factor above the optimum (1.0 when empty)."""
        return self.cost / self.lower_bound if self.lower_bound > 0 else 1.0

    def as_dict(self) -> dict:
        """The JSON form (the CLI's output): floats rounded to 4 decimals."""
        return {
            "steps": self.steps,
            "cost": round(self.cost, 4),
            "lower_bound": round(self.lower_bound, 4),
            "bound_factor": round(self.bound_factor, 4),
            "certificate": self.certificate,
            "goals": self.goals,
            "reached": self.reached,
            "review": self.review,
            "required": self.required,
            "step_costs": {c: round(x, 4) for c, x in self.step_costs.items()},
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class _Inputs:
    graph: nx.DiGraph
    mastery: dict[str, float]
    goals: tuple[str, ...]
    weak: frozenset[str]
    cost: CostSpec
    tau: float


def plan_path(
    graph: nx.DiGraph,
    mastered: Mapping[str, float] | Iterable[str],
    goals: Iterable[str],
    *,
    weak: Iterable[str] | None = None,
    cost: CostSpec = None,
    tau: float = DEFAULT_PLAN_TAU,
) -> Plan:
    """The planned path from ``mastered`` to every goal in ``goals``.

    ``mastered`` is a set of concept ids (each mastered) or a dict concept ->
    mastery probability (mastered when >= ``tau``; other estimates feed the
    cost). ``weak`` concepts count as unmastered whatever their estimate: they
    are planned for review when a goal depends on them. ``cost`` is a
    ``CostModel`` (the default), a dict concept -> cost, or a callable; an
    infinite cost means the concept cannot be learned. Every id must be in
    ``graph``: filter a learner's estimates to the curriculum's concepts first.

    Raises ``UnknownConceptError``, ``PlanCycleError`` (a cycle among the
    concepts the goals need) or ``UnreachableGoalError``, each naming ids.
    """
    return _plan(_inputs(graph, mastered, goals, weak, cost, tau))


def closure_problem(
    graph: nx.DiGraph,
    mastered: Mapping[str, float] | Iterable[str],
    goals: Iterable[str],
    *,
    weak: Iterable[str] | None = None,
    cost: CostSpec = None,
    tau: float = DEFAULT_PLAN_TAU,
) -> tuple[ClosureProblem, list[str]]:
    """The problem ``plan_path`` solves, with the concept id of each variable: for exact solvers
    (``plan_bounds.exact_optimum``) in the benchmark and the tests. Empty when every goal is mastered."""
    _, problem, ids, _ = _setup(_inputs(graph, mastered, goals, weak, cost, tau))
    return problem, ids


def _inputs(graph, mastered, goals, weak, cost, tau) -> _Inputs:
    if not 0 < tau <= 1:
        raise PlanError(f"tau must be in (0, 1], got {tau}")
    if isinstance(mastered, Mapping):
        mastery = {c: float(p) for c, p in mastered.items()}
    else:
        mastery = dict.fromkeys(mastered, 1.0)
    return _Inputs(graph, mastery, tuple(dict.fromkeys(goals)), frozenset(weak or ()), cost, tau)


def replan(plan: Plan, changed: Mapping[str, float] | Iterable[str]) -> Plan:
    """``plan`` made again after mastery changes: ``changed`` maps concepts to new estimates (or lists newly
    mastered ones). The graph's index is warm, so this is one walk over the region (about a millisecond on
    the Common Core graph; ``bench/planner.py`` measures it)."""
    if plan._inputs is None:
        raise PlanError("this plan was not made by plan_path, so it cannot be re-planned")
    updates = dict(changed) if isinstance(changed, Mapping) else dict.fromkeys(changed, 1.0)
    mastery = {**plan._inputs.mastery, **{c: float(p) for c, p in updates.items()}}
    return _plan(replace(plan._inputs, mastery=mastery))


def _setup(inputs: _Inputs) -> tuple[GraphIndex, ClosureProblem, list[str], list[str]]:
    """The index, the problem, its variables' ids, and the goals already mastered."""
    ix = plan_index(inputs.graph)
    unknown = [c for c in (*inputs.goals, *inputs.weak, *inputs.mastery) if c not in ix.index]
    if unknown:
        raise UnknownConceptError(unknown)
    mastered = {ix.index[c] for c, p in inputs.mastery.items() if p >= inputs.tau and c not in inputs.weak}
    goals = [ix.index[g] for g in inputs.goals]
    open_goals = [g for g in goals if g not in mastered]
    reached = [ix.ids[g] for g in goals if g in mastered]
    if not open_goals:
        return ix, ClosureProblem(np.zeros(0), [], [], []), [], reached
    problem, nodes = _problem(ix, inputs, mastered, open_goals)
    return ix, problem, [ix.ids[v] for v in nodes], reached


def _plan(inputs: _Inputs) -> Plan:
    ix, problem, ids, reached = _setup(inputs)
    if not problem.goals:
        return Plan([], 0.0, 0.0, 1.0, {}, list(inputs.goals), reached=reached, _inputs=inputs)
    must = forced(problem)
    chosen, certificate = solve(problem, must)
    total = float(problem.cost[chosen].sum())
    if certificate == "exact":
        lower = total
    elif len(problem) <= LP_MAX_CONCEPTS:
        lower, certificate = min(total, lp_lower_bound(problem)), "lp"
    else:
        lower, certificate = float(problem.cost[must].sum()), "forced"
    order = _order(problem, chosen, ids, ix)
    steps = [ids[v] for v in order]
    review = [c for c in steps if c in inputs.weak and inputs.mastery.get(c, 0.0) >= inputs.tau]
    reasons = _reasons(problem, chosen, ids, inputs)
    return Plan(
        steps=steps,
        cost=total,
        lower_bound=lower,
        bound_factor=1.0 + math.log(int(must.sum())),
        reasons={c: reasons[c] for c in steps},
        goals=list(inputs.goals),
        step_costs={ids[v]: float(problem.cost[v]) for v in order},
        review=review,
        reached=reached,
        required=int(must.sum()),
        certificate=certificate,
        _inputs=inputs,
    )


def _problem(ix: GraphIndex, inputs: _Inputs, mastered: set[int], goals: list[int]):
    """The region as a ``ClosureProblem`` (local ids in topological order) and the local -> index map."""
    region, stack = set(goals), list(goals)
    while stack:
        v = stack.pop()
        for u in ix.requires[v] + [u for g in _open_groups(ix, v, mastered) for u in g]:
            if u not in mastered and u not in region:
                region.add(u)
                stack.append(u)
    rank = _cycle_check(ix, region, mastered) if region & ix.cyclic else {}
    nodes = sorted(region, key=lambda v: (ix.position[v], rank.get(v, 0)))
    local = {v: i for i, v in enumerate(nodes)}
    requires = [[local[u] for u in ix.requires[v] if u not in mastered] for v in nodes]
    any_of = [[[local[u] for u in g] for g in _open_groups(ix, v, mastered)] for v in nodes]
    costs = np.array([_cost(ix, inputs, v, len(r) + len(a)) for v, r, a in zip(nodes, requires, any_of, strict=True)])
    problem = ClosureProblem(costs, requires, any_of, [local[g] for g in goals])
    ok = _learnable(problem)
    if ok.all():
        return problem, nodes
    for g in problem.goals:
        if not ok[g]:
            raise UnreachableGoalError(ix.ids[nodes[g]], _why(problem, ok, nodes, ix, g))
    return _restrict(problem, ok, nodes)


def _open_groups(ix: GraphIndex, v: int, mastered: set[int]) -> list[list[int]]:
    """``v``'s any_of groups that no mastered member satisfies."""
    return [g for g in ix.any_of[v] if not any(u in mastered for u in g)]


def _cost(ix: GraphIndex, inputs: _Inputs, v: int, open_needs: int) -> float:
    concept, spec = ix.ids[v], inputs.cost
    if spec is None or isinstance(spec, CostModel):
        model = spec or CostModel()
        mastery = inputs.mastery.get(concept)
        return model.node_cost(ix.attrs[v], mastery=mastery, tau=inputs.tau, unmastered_prerequisites=open_needs)
    if isinstance(spec, Mapping):
        if concept not in spec:
            raise PlanError(f"no cost given for concept {concept!r}")
        value = float(spec[concept])
    else:
        value = float(spec(concept))
    if not value >= 0:  # also refuses NaN
        raise PlanError(f"cost of {concept!r} must be >= 0, got {value}")
    return value


def _cycle_check(ix: GraphIndex, region: set[int], mastered: set[int]) -> dict[int, int]:
    """Raise on a cycle among the region's requirement edges; else a tie-break rank for the cyclic nodes."""
    sub = nx.DiGraph()
    for v in region & ix.cyclic:
        sub.add_node(v)
        for u in ix.requires[v] + [u for g in _open_groups(ix, v, mastered) for u in g]:
            if u in region and u in ix.cyclic:
                sub.add_edge(u, v)
    try:
        return {v: r for r, v in enumerate(nx.topological_sort(sub))}
    except nx.NetworkXUnfeasible:
        cycle = [ix.ids[u] for u, _ in nx.find_cycle(sub)]
        start = cycle.index(min(cycle))
        raise PlanCycleError(cycle[start:] + cycle[:start]) from None


def _learnable(p: ClosureProblem) -> np.ndarray:
    """Concepts with finite cost whose requirements can all be met (prerequisites first)."""
    ok = np.zeros(len(p), dtype=bool)
    for v in range(len(p)):
        ok[v] = (
            math.isfinite(p.cost[v])
            and all(ok[u] for u in p.requires[v])
            and all(any(ok[u] for u in g) for g in p.any_of[v])
        )
    return ok


def _why(p: ClosureProblem, ok: np.ndarray, nodes: list[int], ix: GraphIndex, v: int) -> str:
    """Follow the first broken requirement down from ``v`` and describe where it breaks."""
    steps = []
    while True:
        name = ix.ids[nodes[v]]
        if not math.isfinite(p.cost[v]):
            return "; ".join([*steps, f"{name!r} cannot be learned (infinite cost)"])
        broken = [u for u in p.requires[v] if not ok[u]]
        if not broken:
            break
        steps.append(f"{name!r} needs {ix.ids[nodes[broken[0]]]!r}")
        v = broken[0]
    group = next(g for g in p.any_of[v] if not any(ok[u] for u in g))
    absent = [m for groups in ix.missing.get(nodes[v], []) for m in groups]
    parts = [f"{m!r} is not in the graph" for m in absent] + [f"{ix.ids[nodes[u]]!r} cannot be learned" for u in group]
    steps.append(f"no member of an any_of group of {name!r} can be learned ({'; '.join(parts)})")
    return "; ".join(steps)


def _restrict(p: ClosureProblem, ok: np.ndarray, nodes: list[int]) -> tuple[ClosureProblem, list[int]]:
    """The problem on the learnable concepts the goals can still need, renumbered in the same order."""
    keep, stack = set(p.goals), list(p.goals)
    while stack:
        v = stack.pop()
        for u in p.requires[v] + [u for g in p.any_of[v] for u in g if ok[u]]:
            if u not in keep:
                keep.add(u)
                stack.append(u)
    old = sorted(keep)
    new = {v: i for i, v in enumerate(old)}
    problem = ClosureProblem(
        p.cost[old],
        [[new[u] for u in p.requires[v]] for v in old],
        [[[new[u] for u in g if ok[u]] for g in p.any_of[v]] for v in old],
        [new[g] for g in p.goals],
    )
    return problem, [nodes[v] for v in old]


# --- order and reasons ------------------------------------------------------------------------------------


def _order(p: ClosureProblem, chosen: np.ndarray, ids: list[str], ix: GraphIndex) -> list[int]:
    """Kahn's algorithm over the chosen concepts; among the ready ones, a neighbour of the last step first
    (a dependent it unlocked, a co-prerequisite, a sibling, a related concept), then the cheapest."""
    members = [int(v) for v in np.flatnonzero(chosen)]
    local = {ix.index[ids[v]]: v for v in members}
    prereqs = {v: {u for u in p.requires[v] + [u for g in p.any_of[v] for u in g] if chosen[u]} for v in members}
    dependents: dict[int, list[int]] = {v: [] for v in members}
    for v, us in prereqs.items():
        for u in us:
            dependents[u].append(v)
    waiting = {v: len(us) for v, us in prereqs.items()}

    def key(v: int) -> tuple[float, str]:
        return (float(p.cost[v]), ids[v])

    ready = [(key(v), v) for v in members if waiting[v] == 0]
    heapq.heapify(ready)
    is_ready = {v for _, v in ready}
    order: list[int] = []
    while is_ready:
        last = order[-1] if order else None
        near = set()
        if last is not None:
            near.update(dependents[last])
            for d in dependents[last]:
                near.update(prereqs[d])
            for u in prereqs[last]:
                near.update(dependents[u])
            near.update(local[r] for r in ix.related.get(ix.index[ids[last]], ()) if r in local)
        candidates = near & is_ready
        if candidates:
            v = min(candidates, key=key)
        else:
            while ready[0][1] not in is_ready:
                heapq.heappop(ready)
            v = heapq.heappop(ready)[1]
        is_ready.discard(v)
        order.append(v)
        for d in dependents[v]:
            waiting[d] -= 1
            if waiting[d] == 0:
                is_ready.add(d)
                heapq.heappush(ready, (key(d), d))
    return order


def _reasons(p: ClosureProblem, chosen: np.ndarray, ids: list[str], inputs: _Inputs) -> dict[str, str]:
    """Per step: the first goal (in the caller's order) that needs it, the chain through which, the others,
    the any_of choice if the first link is one, and the learner's mastery."""
    name = {int(v): ids[v] for v in np.flatnonzero(chosen)}
    goal_rank = {g: k for k, g in enumerate(p.goals)}
    up: dict[int, list[tuple[int, list[int] | None]]] = {v: [] for v in name}  # (dependent, any_of group)
    goals_of: dict[int, set[int]] = {v: {v} if v in goal_rank else set() for v in name}
    for v in sorted(name, reverse=True):  # dependents before their prerequisites
        for u, group in [(u, None) for u in p.requires[v]] + [(u, g) for g in p.any_of[v] for u in g if chosen[u]]:
            up[u].append((v, group))
            goals_of[u] |= goals_of[v]
    reasons = {}
    for v, concept in name.items():
        mastery = inputs.mastery.get(concept)
        said = "no mastery estimate yet" if mastery is None else f"your mastery is {mastery:.2f}"
        if concept in inputs.weak and mastery is not None and mastery >= inputs.tau:
            said = f"review: marked weak although {said}"
        goals = sorted(goals_of[v], key=goal_rank.__getitem__)
        if v in goal_rank:
            others = [name[g] for g in goals if g != v]
            reasons[concept] = "your goal" + (f", also needed by goal {', '.join(others)}" if others else "")
            reasons[concept] += f"; {said}"
            continue
        goal, hops, w = goals[0], [], v
        while w != goal:  # towards the goal: straight to it if linked, else the dependent nearest to it
            w, group = max((link for link in up[w] if goal in goals_of[link[0]]), key=lambda k: (k[0] == goal, k[0]))
            hops.append((w, group))
        text = f"needed by goal {name[goal]}"
        through = [name[w] for w, _ in hops[:-1]]
        if through:
            text += f" (through {', '.join(through if len(through) <= 3 else [through[0], '…', through[-1]])})"
        rest = [name[g] for g in goals[1:]]
        if rest:
            text += f" and by goal {', '.join(rest[:3])}" + (f" and {len(rest) - 3} more" if len(rest) > 3 else "")
        parent, group = hops[0]
        if group is not None:
            owner = "its" if parent == goal else f"{name[parent]}'s"
            options = ", ".join(sorted(ids[u] for u in group))
            text += f"; chosen from {owner} any_of group [{options}] as the cheaper route"
        reasons[concept] = f"{text}; {said}"
    return reasons

"""The planning problem on integers, bounded from both sides: the greedy plan above, the LP relaxation below.

The planner reduces a learner, a graph and goals to a ``ClosureProblem`` over
the concepts that matter (unmastered ancestors of the goals, numbered
``0..n-1`` in topological order): choose a set S minimising
``sum(cost[v] for v in S)`` with

- every goal in S;
- for every v in S, each AND prerequisite of v in S (``requires``);
- for every v in S, each any_of group of v meeting S (``any_of``; groups
  already satisfied by a mastered member are not in the problem).

From above, ``solve``: the greedy weighted set cover over goal routes
(``greedy_cover``), redundancy pruning (``prune``) and a bounded local search.
A *route* is the set of concepts that learning one concept would add to
what is already chosen: its AND prerequisites and, per open any_of group, the
member whose own route is cheapest (``_route_costs``), recursively.

From below, as a 0/1 program over ``x_v``::

    min c.x   s.t.  x_g = 1 (goals),  x_v <= x_u (u AND-required by v),
                    x_v <= sum(x_u for u in group) (each any_of group of v),  x in {0, 1}

Relaxing ``x in {0, 1}`` to ``0 <= x <= 1`` gives a linear program whose
optimum is a lower bound on every plan's cost: ``lp_lower_bound``. Without
any_of groups the constraint matrix is a difference system (totally
unimodular), so the LP optimum is the integer optimum and the bound is tight.
``forced`` is the cheap certificate for huge regions: concepts every feasible
plan contains, so their total cost is also a lower bound. ``exact_optimum``
solves the 0/1 program with ``scipy.optimize.milp`` (HiGHS branch and bound),
the benchmark's and the tests' reference: fast on a few hundred concepts, but
with no bound on its time as regions grow.

>>> p = ClosureProblem(cost=np.array([1.0, 2.0, 5.0, 1.0]), requires=[[], [], [], []],
...                    any_of=[[], [], [], [[0, 2], [1, 2]]], goals=[3])
>>> round(lp_lower_bound(p), 6), exact_optimum(p)
(4.0, (4.0, [0, 1, 3]))
>>> forced(p).tolist(), solve(p, forced(p))[0].tolist()
([False, False, False, True], [True, True, False, True])
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

# Below this many concepts, route costs count shared prerequisites once (a bit matrix); above, as a tree.
EXACT_ROUTES_MAX = 2_000
# The local search's budget, in concept visits, so a huge region cannot stall a plan.
IMPROVE_WORK = 150_000


@dataclass(frozen=True)
class ClosureProblem:
    """Concepts ``0..n-1`` in topological order (prerequisites first), their costs and requirements."""

    cost: np.ndarray
    requires: list[list[int]]
    any_of: list[list[list[int]]]
    goals: list[int]

    def __len__(self) -> int:
        return len(self.cost)

    def is_closed(self, chosen: set[int]) -> bool:
        """Whether ``chosen`` is a feasible plan: goals in it, every requirement of a member met inside it."""
        return all(g in chosen for g in self.goals) and all(
            all(u in chosen for u in self.requires[v]) and all(chosen.intersection(g) for g in self.any_of[v])
            for v in chosen
        )

    def matrix(self) -> sparse.csr_array:
        """One row per requirement: ``x_v - x_u <= 0`` (AND) and ``x_v - sum(x_group) <= 0`` (any_of)."""
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        row = 0
        for v in range(len(self)):
            for members in [[u] for u in self.requires[v]] + self.any_of[v]:
                rows.append(row)
                cols.append(v)
                vals.append(1.0)
                rows.extend([row] * len(members))
                cols.extend(members)
                vals.extend([-1.0] * len(members))
                row += 1
        return sparse.csr_array((vals, (rows, cols)), shape=(row, len(self)))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lower = np.zeros(len(self))
        lower[self.goals] = 1.0
        return lower, np.ones(len(self))


# --- upper bound: greedy set cover and local search ------------------------------------------------------


def solve(p: ClosureProblem, must: np.ndarray) -> tuple[np.ndarray, str]:
    """The chosen concepts (a boolean mask) and "exact" when no choice was involved, else "greedy"."""
    if not any(p.any_of):  # every concept of the region is required: the plan is the region, and optimal
        return np.ones(len(p), dtype=bool), "exact"
    chosen = greedy_cover(p, must)
    chosen = prune(p, chosen, must)
    return _improve(p, chosen, must), "greedy"


def greedy_cover(p: ClosureProblem, must: np.ndarray) -> np.ndarray:
    """Greedy weighted set cover over goal routes: least marginal cost per newly covered element of W."""
    chosen = np.zeros(len(p), dtype=bool)
    uncovered = set(p.goals)
    while uncovered:
        h = _route_costs(p, chosen)
        best: tuple[float, int, list[int]] | None = None
        for g in sorted(uncovered):
            route = _route(p, [g], chosen, h)
            covered = int(must[route].sum())  # >= 1: the goal itself is in W
            ratio = float(p.cost[route].sum()) / covered
            if best is None or ratio < best[0]:
                best = (ratio, g, route)
        assert best is not None
        chosen[best[2]] = True
        uncovered = {g for g in uncovered if not chosen[g]}
    return chosen


def _route_costs(p: ClosureProblem, free: np.ndarray, cost: np.ndarray | None = None) -> np.ndarray:
    """For every concept, the cost of what learning it would add beyond ``free`` (0 for free concepts).

    Each any_of group takes its cheapest member. Up to ``EXACT_ROUTES_MAX``
    concepts a route is a bit row, so a prerequisite shared by two branches
    is paid once; above it costs add up as a tree (shared ones counted twice),
    which keeps big regions linear.
    """
    cost = p.cost if cost is None else cost
    n = len(p)
    h = np.zeros(n)
    if n > EXACT_ROUTES_MAX:
        for v in range(n):
            if not free[v]:
                total = cost[v] + sum(h[u] for u in p.requires[v])
                h[v] = total + sum(min(h[u] for u in g) for g in p.any_of[v])
        return h
    rows = np.zeros((n, n), dtype=bool)
    paid = np.where(free, 0.0, cost)
    for v in range(n):
        if free[v]:
            continue
        row = rows[v]
        row[v] = True
        for u in p.requires[v]:
            row |= rows[u]
        for g in p.any_of[v]:
            row |= rows[min(g, key=h.__getitem__)]
        h[v] = paid[row].sum()
    return h


def _route(p: ClosureProblem, targets: list[int], free: np.ndarray, h: np.ndarray, prefer: int = -1) -> list[int]:
    """The concepts (not free) that ``targets`` need: AND prerequisites, and per unsatisfied any_of group
    the member ``prefer`` if it is one, else the cheapest by ``h``. Dependents are expanded before their
    prerequisites, so a member another route already brought in satisfies a group for free."""
    taken = set(t for t in targets if not free[t])
    heap = [-t for t in taken]
    heapq.heapify(heap)
    while heap:
        v = -heapq.heappop(heap)
        for u in p.requires[v]:
            if not free[u] and u not in taken:
                taken.add(u)
                heapq.heappush(heap, -u)
        open_groups = [g for g in p.any_of[v] if not any(free[u] or u in taken for u in g)]
        while open_groups:  # set cover in miniature: a member in two groups counts for both
            members = {u for g in open_groups for u in g}
            u = prefer if prefer in members else min(members, key=lambda u: (h[u] / _count(open_groups, u), u))
            taken.add(u)
            heapq.heappush(heap, -u)
            open_groups = [g for g in open_groups if u not in g]
    return sorted(taken)


def _count(groups: list[list[int]], u: int) -> int:
    return sum(u in g for g in groups)


def prune(p: ClosureProblem, chosen: np.ndarray, must: np.ndarray, prefer: int = -1) -> np.ndarray:
    """The goals' routes inside ``chosen`` only: drops concepts no goal needs any more."""
    h = _route_costs(p, must & chosen, np.where(chosen, p.cost, np.inf))
    kept = np.zeros(len(p), dtype=bool)
    kept[_route(p, list(p.goals), np.zeros(len(p), dtype=bool), h, prefer)] = True
    return kept


def _improve(p: ClosureProblem, chosen: np.ndarray, must: np.ndarray) -> np.ndarray:
    """Local search from the greedy plan: accept the first move that lowers the cost, until none does.

    Two moves, each followed by ``_prune``: *add* the route of an unchosen any_of
    member (a member shared by several goals' groups is seen only this way), and
    *drop* a chosen concept that is not forced, routing the goals again with it
    forbidden and the rest of the plan nearly free. Bounded by ``IMPROVE_WORK``.
    """
    best, best_cost = chosen, float(p.cost[chosen].sum())
    work, tried = 0, set()
    improved = True
    while improved and work < IMPROVE_WORK:
        improved = False
        h = _route_costs(p, best)
        work += len(p)
        adds = {u for v in np.flatnonzero(best) for g in p.any_of[v] for u in g if not best[u]}
        drops = [int(v) for v in np.flatnonzero(best & ~must)]
        moves = [("add", x) for x in sorted(adds, key=lambda u: (h[u], u))]
        moves += [("drop", x) for x in sorted(drops, key=lambda u: (-p.cost[u], u))]
        for move in moves:
            if move in tried:
                continue
            tried.add(move)
            trial = _add(p, best, h, move[1]) if move[0] == "add" else _drop(p, best, move[1])
            trial = prune(p, trial, must, prefer=move[1] if move[0] == "add" else -1)
            work += int(trial.sum()) + 2 * len(p)
            cost = float(p.cost[trial].sum())
            if cost < best_cost - 1e-9 * max(1.0, best_cost):
                best, best_cost, improved = trial, cost, True
                tried.clear()
                break
            if work >= IMPROVE_WORK:
                break
    return best


def _add(p: ClosureProblem, chosen: np.ndarray, h: np.ndarray, x: int) -> np.ndarray:
    trial = chosen.copy()
    trial[_route(p, [x], chosen, h)] = True
    return trial


def _drop(p: ClosureProblem, chosen: np.ndarray, x: int) -> np.ndarray:
    """The goals' routes with ``x`` forbidden and the other chosen concepts at a millionth of their cost."""
    cost = np.where(chosen, p.cost * 1e-6, p.cost)
    cost[x] = np.inf
    nothing = np.zeros(len(p), dtype=bool)
    trial = nothing.copy()
    trial[_route(p, list(p.goals), nothing, _route_costs(p, nothing, cost))] = True
    return trial


# --- lower bounds and the exact optimum --------------------------------------------------------------------


def lp_lower_bound(problem: ClosureProblem) -> float:
    """The LP relaxation's optimum, a lower bound on the cost of every plan (0.0 for an empty problem).

    Solved with HiGHS through ``scipy.optimize.linprog``; the value is shaded
    down by 1e-9 (relative) so solver round-off cannot lift it above the optimum.
    """
    if len(problem) == 0:
        return 0.0
    matrix = problem.matrix()
    lower, upper = problem.bounds()
    has_rows = matrix.shape[0] > 0
    result = linprog(
        problem.cost,
        A_ub=matrix if has_rows else None,
        b_ub=np.zeros(matrix.shape[0]) if has_rows else None,
        bounds=np.column_stack([lower, upper]),
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"LP relaxation failed: {result.message}")
    return max(0.0, float(result.fun) * (1 - 1e-9))


def exact_optimum(problem: ClosureProblem, time_limit: float | None = None) -> tuple[float, list[int]]:
    """The cheapest plan's cost and concepts, by ``scipy.optimize.milp``; for benchmarks and tests."""
    if len(problem) == 0:
        return 0.0, []
    matrix = problem.matrix()
    lower, upper = problem.bounds()
    constraints = [LinearConstraint(matrix, -np.inf, 0.0)] if matrix.shape[0] else []
    options = {"time_limit": time_limit} if time_limit else {}
    result = milp(
        problem.cost,
        integrality=np.ones(len(problem)),
        bounds=Bounds(lower, upper),
        constraints=constraints,
        options=options,
    )
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"ILP failed: {result.message}")
    chosen = [v for v in range(len(problem)) if result.x[v] > 0.5]
    return float(problem.cost[chosen].sum()), chosen


def forced(problem: ClosureProblem) -> np.ndarray:
    """Concepts every plan contains: the goals, closed over AND prerequisites and one-member any_of groups.

    Their total cost is a valid lower bound ("forced" certificate) and their
    number is |W| in the planner's ``1 + ln |W|`` bound factor.
    """
    mask = np.zeros(len(problem), dtype=bool)
    stack = list(problem.goals)
    mask[stack] = True
    while stack:
        v = stack.pop()
        for u in problem.requires[v] + [group[0] for group in problem.any_of[v] if len(group) == 1]:
            if not mask[u]:
                mask[u] = True
                stack.append(u)
    return mask

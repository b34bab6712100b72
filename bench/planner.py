"""Learning-path planner: cost against the exact optimum and two baselines, and planning time.

    .venv/bin/python bench/planner.py [--instances 200] [--max-nodes 300] [--seed 2026]
        [--coherence ../shared/data/common_core_math_coherence.json] [--big-nodes 100000] [--repeats 50]

Quality: ``--instances`` random concept graphs of 20 to ``--max-nodes``
concepts (seeded). Concept i takes 0-3 AND prerequisites and, with
probability 0.4, one or two any_of groups of 2-4 members, all among the 30
concepts before it; difficulties ~ N(0, 1), 0-12 problems, 0-4 passages. The
learner masters early concepts more often than late ones (p >= tau), holds
partial estimates on some others, has an ability theta ~ N(0, 0.7), and 1-8
goals in the later half. Costs are ``CostModel``'s, given to every method as
the same dict. For each instance the exact optimum is solved in the same run
(``plan_bounds.exact_optimum``: ``scipy.optimize.milp``), and each method's
cost is divided by it:

- ``planner``: ``plan_path`` (greedy set cover, then local improvement);
- ``greedy_only``: the greedy and redundancy pruning, without the local search;
- ``all_ancestors``: every unmastered ancestor of the goals, in topological order;
- ``shortest_path_union``: per goal the cheapest path (node-weighted Dijkstra)
  from the mastered concepts or a concept with no prerequisites, unioned, then
  closed over AND prerequisites, each unsatisfied any_of group taking its
  cheapest member by its own cost.

``bound_violations`` counts instances where the planner's cost exceeds
``bound_factor`` x optimum; ``lower_bound_ratio`` is the plan's certified lower
bound over the optimum (<= 1 always).

Time: ``plan_path`` on the Common Core coherence graph (cycles broken; a
grade-5 learner: K-3 mastered but for three weak spots, some grade-4
estimates, four grade 6-7 goals), cold (first call, builds the graph index) and
warm (median of ``--repeats``), against a plain topological sort of the same
graph; ``replan`` after one mastery change (the plan's next step mastered, or
another concept's estimate moved), median and p95; and the same plan on a
synthetic ``--big-nodes``-node layered DAG (any_of groups on 30% of concepts,
the first 90% of layers mastered but for 2% weak spots, five goals in the last
layer), cold and warm, against a topological sort of that graph.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge_graph import break_cycles, build_graph, load_coherence, topological_order  # noqa: E402
from knowledge_graph.plan_bounds import exact_optimum, forced, greedy_cover, prune  # noqa: E402
from knowledge_graph.plan_cost import CostModel  # noqa: E402
from knowledge_graph.planner import (  # noqa: E402
    DEFAULT_PLAN_TAU,
    closure_problem,
    plan_index,
    plan_path,
    replan,
)

TAU = DEFAULT_PLAN_TAU
TARGETS = {"mean_ratio": 1.03, "max_ratio": 1.15, "common_core_ms": 20.0, "big_dag_ms": 2000.0, "replan_ms": 10.0}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def random_instance(rng: random.Random, n: int) -> tuple[nx.DiGraph, dict[str, float], list[str], float]:
    concepts = []
    for i in range(n):
        c: dict = {
            "id": f"c{i:03d}",
            "name": f"Concept {i}",
            "difficulty": rng.gauss(0, 1),
            "problems": rng.randint(0, 12),
            "passages": rng.randint(0, 4),
        }
        pool = list(range(max(0, i - 30), i))
        if pool:
            ands = rng.sample(pool, min(len(pool), rng.choice([0, 1, 1, 2, 2, 3])))
            c["prerequisites"] = [f"c{j:03d}" for j in ands]
            rest = [j for j in pool if j not in ands]
            if rng.random() < 0.4 and len(rest) >= 2:
                groups = [
                    rng.sample(rest, min(len(rest), rng.choice([2, 2, 3, 4]))) for _ in range(rng.choice([1, 1, 2]))
                ]
                c["any_of"] = [[f"c{j:03d}" for j in g] for g in groups]
        concepts.append(c)
    graph = build_graph(concepts)
    mastery = {}
    for i in range(n):
        if rng.random() < 0.75 - i / n:
            mastery[f"c{i:03d}"] = rng.uniform(TAU, 1.0)
        elif rng.random() < 0.4:
            mastery[f"c{i:03d}"] = rng.uniform(0.05, TAU - 0.01)
    goals = rng.sample([f"c{i:03d}" for i in range(n // 2, n)], rng.randint(1, 8))
    return graph, mastery, goals, rng.gauss(0, 0.7)


def cost_table(graph: nx.DiGraph, mastery: dict[str, float], model: CostModel) -> dict[str, float]:
    """``CostModel`` costs for every concept, as the planner computes them, for all methods alike."""
    mastered = {c for c, p in mastery.items() if p >= TAU}
    costs = {}
    for v, attrs in graph.nodes(data=True):
        ands = [u for u, _, kind in graph.in_edges(v, data="kind") if kind != "any_of" and u not in mastered]
        groups = [g for g in attrs.get("any_of") or [] if g and not mastered.intersection(g)]
        costs[v] = model.node_cost(
            attrs, mastery=mastery.get(v), tau=TAU, unmastered_prerequisites=len(ands) + len(groups)
        )
    return costs


def requirements(graph: nx.DiGraph, v: str) -> tuple[list[str], list[list[str]]]:
    ands = [u for u, _, kind in graph.in_edges(v, data="kind") if kind != "any_of"]
    return ands, [g for g in graph.nodes[v].get("any_of") or [] if g]


def close(graph: nx.DiGraph, start: set[str], mastered: set[str], costs: dict[str, float]) -> set[str]:
    """``start`` closed over AND prerequisites, each open any_of group taking its cheapest member by own cost."""
    chosen, stack = set(start), list(start)
    while stack:
        ands, groups = requirements(graph, stack.pop())
        needs = [u for u in ands if u not in mastered]
        for g in groups:
            if not (mastered | chosen).intersection(g):
                needs.append(min(g, key=lambda u: (costs[u], u)))
        for u in needs:
            if u not in chosen:
                chosen.add(u)
                stack.append(u)
    return chosen


def all_ancestors(graph: nx.DiGraph, mastered: set[str], goals: list[str]) -> set[str]:
    open_goals = {g for g in goals if g not in mastered}
    return {u for g in open_goals for u in nx.ancestors(graph, g) if u not in mastered} | open_goals


def shortest_path_union(graph: nx.DiGraph, mastered: set[str], goals: list[str], costs: dict[str, float]) -> set[str]:
    """Node-weighted Dijkstra from a virtual source into every mastered or prerequisite-free concept."""
    dist, parent, heap = {}, {}, []
    for v in graph:
        if v in mastered:
            heapq.heappush(heap, (0.0, v, None))
        elif graph.in_degree(v) == 0:
            heapq.heappush(heap, (costs[v], v, None))
    while heap:
        d, v, via = heapq.heappop(heap)
        if v in dist:
            continue
        dist[v], parent[v] = d, via
        for w in graph.successors(v):
            if w not in dist and w not in mastered:
                heapq.heappush(heap, (d + costs[w], w, v))
    union = set()
    for g in goals:
        v = g
        while v is not None and v not in mastered:
            union.add(v)
            v = parent[v]
    return close(graph, union, mastered, costs)


def quality(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    ratios: dict[str, list[float]] = {"planner": [], "greedy_only": [], "all_ancestors": [], "shortest_path_union": []}
    lower, nodes, groups, violations, optimal, plan_ms, ilp_ms = [], [], [], 0, 0, [], []
    while len(ratios["planner"]) < args.instances:
        graph, mastery, goals, theta = random_instance(rng, rng.randint(20, args.max_nodes))
        costs = cost_table(graph, mastery, CostModel(theta=theta))
        mastered = {c for c, p in mastery.items() if p >= TAU}
        problem, ids = closure_problem(graph, mastery, goals, cost=costs)
        if not problem.goals:
            continue  # every goal already mastered: nothing to compare
        start = time.perf_counter()
        plan = plan_path(graph, mastery, goals, cost=costs)
        plan_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        best, _ = exact_optimum(problem)
        ilp_ms.append((time.perf_counter() - start) * 1000)
        must = forced(problem)
        greedy = prune(problem, greedy_cover(problem, must), must)
        ratios["planner"].append(plan.cost / best)
        ratios["greedy_only"].append(float(problem.cost[greedy].sum()) / best)
        ratios["all_ancestors"].append(sum(costs[c] for c in all_ancestors(graph, mastered, goals)) / best)
        ratios["shortest_path_union"].append(
            sum(costs[c] for c in shortest_path_union(graph, mastered, goals, costs)) / best
        )
        lower.append(plan.lower_bound / best)
        violations += plan.cost > plan.bound_factor * best * (1 + 1e-9)
        optimal += plan.cost <= best * (1 + 1e-9)
        nodes.append(graph.number_of_nodes())
        groups.append(sum(1 for group in problem.any_of for _ in group))
        if len(nodes) % 20 == 0:
            log(f"{len(nodes)} instances: planner mean ratio {statistics.fmean(ratios['planner']):.4f}")
    return {
        "instances": len(nodes),
        "nodes": {"mean": round(statistics.fmean(nodes), 1), "max": max(nodes)},
        "open_any_of_groups_mean": round(statistics.fmean(groups), 1),
        "ratio_to_optimum": {
            k: {"mean": round(statistics.fmean(v), 4), "max": round(max(v), 4)} for k, v in ratios.items()
        },
        "planner_optimal_fraction": round(optimal / len(nodes), 3),
        "bound_violations": violations,
        "lower_bound_ratio": {"mean": round(statistics.fmean(lower), 4), "min": round(min(lower), 4)},
        "plan_ms_mean": round(statistics.fmean(plan_ms), 2),
        "ilp_ms_mean": round(statistics.fmean(ilp_ms), 2),
    }


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def common_core(args: argparse.Namespace) -> dict:
    concepts, related = load_coherence(args.coherence)
    graph = build_graph(concepts, related=related)
    break_cycles(graph)
    rng = random.Random(args.seed)
    ids = sorted(graph)
    mastery = {c: rng.uniform(TAU, 1.0) for c in ids if c[:2] in ("K.", "1.", "2.", "3.")}
    for c in rng.sample(sorted(mastery), 3):
        mastery[c] = rng.uniform(0.3, 0.9)  # weak spots
    for c in rng.sample([c for c in ids if c.startswith("4.")], 15):
        mastery[c] = rng.uniform(0.2, 1.0)
    goals = ["6.RP.A.3", "6.NS.A.1", "7.NS.A.2a", "6.EE.A.2"]
    start = time.perf_counter()
    plan = plan_path(graph, mastery, goals)
    cold = (time.perf_counter() - start) * 1000
    warm = timed(lambda: plan_path(graph, mastery, goals), args.repeats)
    topo = timed(lambda: topological_order(graph), args.repeats)
    changes = [{c: 0.99} for c in plan.steps] + [{c: rng.uniform(0.1, 0.9)} for c in rng.sample(ids, 20)]
    replans = []
    for change in changes * max(1, args.repeats // 10):
        start = time.perf_counter()
        replan(plan, change)
        replans.append((time.perf_counter() - start) * 1000)
    log(f"Common Core: {len(plan.steps)} steps, warm {statistics.median(warm):.2f} ms")
    return {
        "plan": {
            "nodes": graph.number_of_nodes(),
            "steps": len(plan.steps),
            "cost": round(plan.cost, 2),
            "lower_bound": round(plan.lower_bound, 2),
            "certificate": plan.certificate,
            "cold_ms": round(cold, 2),
            "warm_ms_median": round(statistics.median(warm), 3),
            "baseline_topological_sort_ms_median": round(statistics.median(topo), 3),
            "ratio_warm_vs_topological_sort": round(statistics.median(warm) / statistics.median(topo), 2),
        },
        "replan": {
            "changes": len(replans),
            "ms_median": round(statistics.median(replans), 3),
            "ms_p95": round(float(np.percentile(replans, 95)), 3),
            "ratio_median_vs_topological_sort": round(statistics.median(replans) / statistics.median(topo), 2),
        },
    }


def big_dag(n: int, seed: int, width: int = 500) -> tuple[nx.DiGraph, dict[str, float], list[str]]:
    rng = random.Random(seed)
    layers = math.ceil(n / width)
    graph = nx.DiGraph()

    def name(layer: int, i: int) -> str:
        return f"n{layer:04d}.{i:03d}"

    for layer in range(layers):
        for i in range(min(width, n - layer * width)):
            v = name(layer, i)
            graph.add_node(
                v, difficulty=rng.gauss(0, 1), problems=rng.randint(0, 10), passages=rng.randint(0, 3), any_of=[]
            )
            if layer == 0:
                continue
            for _ in range(rng.choice([1, 2, 2, 3])):
                graph.add_edge(name(max(0, layer - rng.randint(1, 3)), rng.randrange(width)), v, kind="prerequisite")
            if rng.random() < 0.3:
                group = {
                    name(max(0, layer - rng.randint(1, 5)), rng.randrange(width)) for _ in range(rng.choice([2, 3]))
                }
                group -= set(graph.pred[v])
                if group:
                    graph.nodes[v]["any_of"] = [sorted(group)]
                    for u in group:
                        graph.add_edge(u, v, kind="any_of", group=0)
    mastery = {}
    for v in graph:
        layer = int(v[1:5])
        if layer < 0.9 * layers:
            mastery[v] = rng.uniform(TAU, 1.0) if rng.random() > 0.02 else rng.uniform(0.1, 0.9)
        elif rng.random() < 0.3:
            mastery[v] = rng.uniform(0.1, 0.9)
    goals = [name(layers - 1, i) for i in rng.sample(range(min(width, n - (layers - 1) * width)), 5)]
    return graph, mastery, goals


def big(args: argparse.Namespace) -> dict:
    graph, mastery, goals = big_dag(args.big_nodes, args.seed)
    log(f"synthetic DAG: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges")
    start = time.perf_counter()
    plan_index(graph)
    index = (time.perf_counter() - start) * 1000
    plan = plan_path(graph, mastery, goals)
    cold = (time.perf_counter() - start) * 1000
    warm = timed(lambda: plan_path(graph, mastery, goals), 3)
    topo = timed(lambda: list(nx.topological_sort(graph)), 3)
    log(f"synthetic DAG: {len(plan.steps)} steps, cold {cold:.0f} ms, warm {statistics.median(warm):.0f} ms")
    return {
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "steps": len(plan.steps),
        "required": plan.required,
        "gap_cost_over_lower_bound": round(plan.gap, 4),
        "certificate": plan.certificate,
        "cold_ms": round(cold, 1),
        "index_ms": round(index, 1),
        "warm_ms_median": round(statistics.median(warm), 1),
        "baseline_topological_sort_ms_median": round(statistics.median(topo), 1),
        "ratio_cold_vs_topological_sort": round(cold / statistics.median(topo), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--max-nodes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--coherence", type=Path, default=ROOT.parent / "shared" / "data" / "common_core_math_coherence.json"
    )
    parser.add_argument("--big-nodes", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    result = {"quality": quality(args), "common_core": common_core(args), "big_dag": big(args)}
    q, cc, bg = result["quality"], result["common_core"], result["big_dag"]
    result["targets"] = {
        "mean_ratio_le_1.03": q["ratio_to_optimum"]["planner"]["mean"] <= TARGETS["mean_ratio"],
        "max_ratio_le_1.15": q["ratio_to_optimum"]["planner"]["max"] <= TARGETS["max_ratio"],
        "no_bound_violation": q["bound_violations"] == 0,
        "common_core_lt_20ms": cc["plan"]["warm_ms_median"] < TARGETS["common_core_ms"]
        and cc["plan"]["cold_ms"] < TARGETS["common_core_ms"],
        "big_dag_lt_2s": bg["cold_ms"] < TARGETS["big_dag_ms"],
        "replan_lt_10ms": cc["replan"]["ms_p95"] < TARGETS["replan_ms"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

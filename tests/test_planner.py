"""The learning-path planner (pure, no database): plan validity on random graphs, bounds, errors, re-planning."""

from __future__ import annotations

import json
import math

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge_graph import break_cycles, build_graph, load_coherence
from knowledge_graph.plan_bounds import exact_optimum, forced, lp_lower_bound
from knowledge_graph.plan_cost import CostModel
from knowledge_graph.planner import (
    PlanCycleError,
    PlanError,
    UnknownConceptError,
    UnreachableGoalError,
    closure_problem,
    plan_path,
    replan,
)
from tests.conftest import SHARED_DATA

TAU = 0.95
# No example database: CI runs must not write files, and a failure prints its reproducing example.
SETTINGS = settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instances(draw, any_of: bool = True):
    """A random concept DAG (prerequisites among earlier concepts), costs, a learner and goals."""
    n = draw(st.integers(1, 12))
    concepts = []
    for i in range(n):
        earlier = [f"c{j}" for j in range(i)]
        ands = draw(st.lists(st.sampled_from(earlier), max_size=3, unique=True)) if earlier else []
        rest = [c for c in earlier if c not in ands]
        groups = []
        if any_of and len(rest) >= 2:
            group = st.lists(st.sampled_from(rest), min_size=2, max_size=4, unique=True)
            groups = draw(st.lists(group, max_size=2))
        concepts.append({"id": f"c{i}", "name": f"C{i}", "prerequisites": ands, "any_of": groups})
    ids = [c["id"] for c in concepts]
    costs = {c: draw(st.floats(0.5, 20.0)) for c in ids}
    mastery = draw(st.dictionaries(st.sampled_from(ids), st.floats(0.0, 1.0), max_size=n))
    goals = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True))
    weak = draw(st.lists(st.sampled_from(ids), max_size=2, unique=True))
    return build_graph(concepts), costs, mastery, goals, weak


def requirements(G: nx.DiGraph, v: str) -> tuple[list[str], list[list[str]]]:
    ands = [u for u, _, kind in G.in_edges(v, data="kind") if kind != "any_of"]
    return ands, [g for g in G.nodes[v]["any_of"] if g]


def assert_valid(G, plan, mastery, goals, weak):
    sources = {c for c, p in mastery.items() if p >= TAU and c not in weak}
    assert len(plan.steps) == len(set(plan.steps))
    known = set(sources)
    for step in plan.steps:
        ands, groups = requirements(G, step)
        assert all(u in known for u in ands), f"{step} before an AND prerequisite"
        assert all(known.intersection(g) for g in groups), f"{step} before any member of an any_of group"
        known.add(step)
    assert all(g in known for g in goals), "a goal is not reached"
    assert not sources.intersection(plan.steps), "a mastered concept is in the plan"
    assert set(plan.review) <= set(weak) & set(plan.steps)
    assert set(plan.reasons) == set(plan.steps)
    assert sorted(plan.reached) == sorted(g for g in goals if g in sources)


@SETTINGS
@given(instances())
def test_every_plan_is_valid(instance):
    G, costs, mastery, goals, weak = instance
    plan = plan_path(G, mastery, goals, weak=weak, cost=costs)
    assert_valid(G, plan, mastery, goals, weak)
    assert plan.cost == pytest.approx(sum(costs[c] for c in plan.steps))


@SETTINGS
@given(instances())
def test_plans_are_valid_with_the_cost_model_too(instance):
    G, _, mastery, goals, weak = instance
    plan = plan_path(G, mastery, goals, weak=weak, cost=CostModel(theta=-0.5))
    assert_valid(G, plan, mastery, goals, weak)
    assert all(x > 0 for x in plan.step_costs.values())


@SETTINGS
@given(instances())
def test_lower_bound_is_below_the_optimum_and_the_plan_within_its_bound(instance):
    # Proven: lower_bound <= OPT <= cost. The (1 + ln|W|) factor is the set-cover bound, which this problem
    # does not inherit in general (docs/planner.md); it is checked here and in bench/planner.py as a regression.
    G, costs, mastery, goals, weak = instance
    plan = plan_path(G, mastery, goals, weak=weak, cost=costs)
    problem, _ = closure_problem(G, mastery, goals, weak=weak, cost=costs)
    optimum, chosen = exact_optimum(problem)
    assert problem.is_closed(set(chosen))
    assert plan.lower_bound <= optimum * (1 + 1e-7) + 1e-9
    assert optimum <= plan.cost * (1 + 1e-7) + 1e-9
    assert plan.cost <= plan.bound_factor * optimum * (1 + 1e-7) + 1e-9
    if problem.goals:
        assert plan.bound_factor == pytest.approx(1 + math.log(int(forced(problem).sum())))


@SETTINGS
@given(instances(any_of=False))
def test_without_any_of_groups_the_plan_is_optimal_and_certified(instance):
    G, costs, mastery, goals, weak = instance
    plan = plan_path(G, mastery, goals, weak=weak, cost=costs)
    problem, _ = closure_problem(G, mastery, goals, weak=weak, cost=costs)
    assert plan.cost == pytest.approx(exact_optimum(problem)[0])
    assert plan.lower_bound == pytest.approx(plan.cost)
    assert plan.certificate == "exact"


@SETTINGS
@given(instances(), st.data())
def test_replan_equals_a_fresh_plan(instance, data):
    G, costs, mastery, goals, weak = instance
    plan = plan_path(G, mastery, goals, weak=weak, cost=costs)
    concept = data.draw(st.sampled_from(sorted(G)))
    p = data.draw(st.floats(0.0, 1.0))
    again = replan(plan, {concept: p})
    fresh = plan_path(G, {**mastery, concept: p}, goals, weak=weak, cost=costs)
    assert (again.steps, again.cost) == (fresh.steps, fresh.cost)


# ---- hand-built cases ----------------------------------------------------------------------------------------


def fractions_graph():
    """frac.add-unlike needs frac.equivalent (AND) and one of two models (any_of)."""
    return build_graph(
        [
            {"id": "frac.unit", "name": "Unit fractions", "difficulty": -1.0},
            {"id": "mult.facts", "name": "Multiplication facts", "difficulty": -0.5},
            {"id": "frac.area-model", "name": "Area model", "prerequisites": ["frac.unit"], "difficulty": 1.5},
            {"id": "frac.number-line", "name": "Number line", "prerequisites": ["frac.unit"], "difficulty": -0.5},
            {
                "id": "frac.equivalent",
                "name": "Equivalent fractions",
                "prerequisites": ["frac.unit", "mult.facts"],
                "any_of": [["frac.area-model", "frac.number-line"]],
                "problems": 12,
                "passages": 2,
            },
            {"id": "frac.add-unlike", "name": "Adding unlike fractions", "prerequisites": ["frac.equivalent"]},
            {"id": "frac.compare", "name": "Comparing fractions", "prerequisites": ["frac.equivalent"]},
        ]
    )


def test_plan_reasons_name_the_goal_the_chain_and_the_mastery():
    mastery = {"frac.unit": 0.99, "mult.facts": 0.97, "frac.equivalent": 0.42}
    plan = plan_path(fractions_graph(), mastery, ["frac.add-unlike"])
    assert plan.steps == ["frac.number-line", "frac.equivalent", "frac.add-unlike"]
    assert plan.reasons["frac.equivalent"] == "needed by goal frac.add-unlike; your mastery is 0.42"
    assert plan.reasons["frac.number-line"] == (
        "needed by goal frac.add-unlike (through frac.equivalent); chosen from frac.equivalent's any_of group "
        "[frac.area-model, frac.number-line] as the cheaper route; no mastery estimate yet"
    )
    assert plan.reasons["frac.add-unlike"] == "your goal; no mastery estimate yet"
    assert plan.next_step == "frac.number-line"


def test_shared_prerequisites_are_planned_once_and_named_for_every_goal():
    plan = plan_path(fractions_graph(), {"frac.unit": 1.0, "mult.facts": 1.0}, ["frac.add-unlike", "frac.compare"])
    assert plan.steps.count("frac.equivalent") == 1
    assert "and by goal frac.compare" in plan.reasons["frac.equivalent"]
    assert plan.as_dict()["steps"] == plan.steps


def test_as_dict_is_json_with_the_cli_keys():
    doc = json.loads(json.dumps(plan_path(fractions_graph(), {"frac.unit"}, ["frac.compare"]).as_dict()))
    assert {"steps", "cost", "lower_bound", "bound_factor", "reasons", "goals", "certificate"} <= set(doc)
    assert doc["lower_bound"] <= doc["cost"]


def test_a_shared_any_of_member_beats_two_cheaper_private_ones():
    # Each goal alone prefers its own member (cost 1 < 1.5); together the shared one (1.5) beats 1 + 1.
    G = build_graph(
        [
            {"id": "a", "name": "A"},
            {"id": "b", "name": "B"},
            {"id": "s", "name": "Shared"},
            {"id": "g1", "name": "G1", "any_of": [["a", "s"]]},
            {"id": "g2", "name": "G2", "any_of": [["b", "s"]]},
        ]
    )
    plan = plan_path(G, set(), ["g1", "g2"], cost={"a": 1, "b": 1, "s": 1.5, "g1": 1, "g2": 1})
    assert sorted(plan.steps) == ["g1", "g2", "s"] and plan.cost == 3.5


def test_order_keeps_a_goals_prerequisites_together():
    # Pure cheapest-first would interleave a1, b1, a2, b2; the plan finishes one goal's neighbourhood first.
    G = build_graph(
        [
            {"id": "a1", "name": "A1"},
            {"id": "a2", "name": "A2"},
            {"id": "b1", "name": "B1"},
            {"id": "b2", "name": "B2"},
            {"id": "ga", "name": "GA", "prerequisites": ["a1", "a2"]},
            {"id": "gb", "name": "GB", "prerequisites": ["b1", "b2"]},
        ]
    )
    cost = {"a1": 1, "b1": 2, "a2": 3, "b2": 4, "ga": 5, "gb": 5}
    assert plan_path(G, set(), ["ga", "gb"], cost=cost).steps == ["a1", "a2", "ga", "b1", "b2", "gb"]


def test_mastered_goals_are_reached_and_weak_concepts_are_reviewed_only_when_needed():
    G = fractions_graph()
    mastery = {"frac.unit": 0.99, "mult.facts": 0.99, "frac.number-line": 0.98, "frac.equivalent": 0.97}
    assert plan_path(G, mastery, ["frac.equivalent"]).reached == ["frac.equivalent"]
    assert plan_path(G, mastery, ["frac.equivalent"]).steps == []
    plan = plan_path(G, mastery, ["frac.compare"], weak=["frac.equivalent", "frac.area-model"])
    assert plan.steps == ["frac.equivalent", "frac.compare"] and plan.review == ["frac.equivalent"]
    assert plan.reasons["frac.equivalent"].endswith("review: marked weak although your mastery is 0.97")


def test_higher_ability_or_mastery_lowers_costs():
    G = fractions_graph()
    weak_learner = plan_path(G, {"frac.unit"}, ["frac.compare"], cost=CostModel(theta=-1.0))
    strong_learner = plan_path(G, {"frac.unit"}, ["frac.compare"], cost=CostModel(theta=1.0))
    assert strong_learner.cost < weak_learner.cost
    model = CostModel()
    base = {"difficulty": 0.0, "problems": 4, "passages": 1, "mastery": 0.5, "tau": TAU, "unmastered_prerequisites": 1}
    cost = model.concept_cost(**base)
    assert model.concept_cost(**{**base, "difficulty": 1.0}) > cost
    assert model.concept_cost(**{**base, "mastery": 0.8}) < cost
    assert model.concept_cost(**{**base, "problems": 20}) > cost
    assert model.concept_cost(**{**base, "unmastered_prerequisites": 3}) > cost


def test_common_core_plan_is_valid_exact_and_explained():
    concepts, related = load_coherence(SHARED_DATA / "common_core_math_coherence.json")
    G = build_graph(concepts, related=related)
    break_cycles(G)
    mastery = {c: 0.99 for c in G if c[0] in "K123"}
    plan = plan_path(G, mastery, ["5.NF.A.1", "6.RP.A.3"])
    assert_valid(G, plan, mastery, ["5.NF.A.1", "6.RP.A.3"], [])
    assert plan.certificate == "exact" and plan.lower_bound == plan.cost
    assert plan.bound_factor == pytest.approx(1 + math.log(len(plan.steps)))
    again = replan(plan, {plan.steps[0]: 0.99})
    assert plan.steps[0] not in again.steps and again.cost < plan.cost


def test_the_lp_bound_is_tight_without_choices_and_below_with_them():
    G = fractions_graph()
    problem, ids = closure_problem(G, {"frac.unit"}, ["frac.compare"], cost=dict.fromkeys(G, 1.0))
    assert lp_lower_bound(problem) <= exact_optimum(problem)[0] + 1e-9
    assert set(ids) >= {"frac.compare", "frac.equivalent", "mult.facts"}


def test_the_index_is_rebuilt_when_the_graph_changes():
    G = fractions_graph()
    assert plan_path(G, {"frac.unit", "mult.facts", "frac.number-line"}, ["frac.compare"]).steps[0] == "frac.equivalent"
    G.add_node("frac.visual", name="Fraction visuals", any_of=[])
    G.add_edge("frac.visual", "frac.equivalent", kind="prerequisite", group=None)
    assert "frac.visual" in plan_path(G, {"frac.unit", "mult.facts", "frac.number-line"}, ["frac.compare"]).steps


# ---- errors --------------------------------------------------------------------------------------------------


def test_unknown_ids_are_all_named():
    with pytest.raises(UnknownConceptError) as excinfo:
        plan_path(fractions_graph(), {"frac.unit", "nope.1"}, ["frac.compare", "nope.2"], weak=["nope.3"])
    assert excinfo.value.ids == ["nope.1", "nope.2", "nope.3"]
    assert "nope.1, nope.2, nope.3" in str(excinfo.value)
    with pytest.raises(UnknownConceptError, match="ghost"):
        replan(plan_path(fractions_graph(), set(), ["frac.unit"]), {"ghost": 1.0})


def test_a_cycle_the_goals_need_is_named_and_one_they_do_not_need_is_ignored():
    G = build_graph(
        [
            {"id": "a", "name": "A", "prerequisites": ["b"]},
            {"id": "b", "name": "B", "prerequisites": ["a"]},
            {"id": "c", "name": "C", "prerequisites": ["a"]},
            {"id": "d", "name": "D"},
        ]
    )
    with pytest.raises(PlanCycleError, match=r"cycle: a -> b -> a") as excinfo:
        plan_path(G, set(), ["c"])
    assert excinfo.value.cycle == ["a", "b"]
    assert plan_path(G, set(), ["d"]).steps == ["d"]
    assert plan_path(G, {"a"}, ["c"]).steps == ["c"]  # a mastered member breaks it


def test_unreachable_goals_name_the_goal_and_the_missing_or_blocked_concept():
    G = nx.DiGraph()
    G.add_node("base", any_of=[])
    G.add_node("goal", any_of=[["ghost"]])
    G.add_node("top", any_of=[])
    G.add_edge("base", "goal", kind="prerequisite", group=None)
    G.add_edge("goal", "top", kind="prerequisite", group=None)
    with pytest.raises(UnreachableGoalError) as excinfo:
        plan_path(G, set(), ["top"])
    assert excinfo.value.goal == "top"
    assert "'top' needs 'goal'" in str(excinfo.value) and "'ghost' is not in the graph" in str(excinfo.value)
    with pytest.raises(UnreachableGoalError, match="'base' cannot be learned"):
        plan_path(G, {"goal"}, ["top", "base"], cost={"base": math.inf, "top": 1})


def test_bad_costs_and_tau_are_refused():
    G = fractions_graph()
    with pytest.raises(PlanError, match="no cost given for concept 'frac.compare'"):
        plan_path(G, {"frac.unit", "mult.facts", "frac.number-line", "frac.equivalent"}, ["frac.compare"], cost={})
    with pytest.raises(PlanError, match="must be >= 0"):
        plan_path(G, set(), ["frac.unit"], cost=lambda c: -1.0)
    with pytest.raises(PlanError, match="tau"):
        plan_path(G, set(), ["frac.unit"], tau=0.0)

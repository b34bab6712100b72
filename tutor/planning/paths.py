"""The adapter between Django and the pure planner (``knowledge_graph.planner``).

The planner's ``CostModel`` reads ``difficulty``, ``problems`` and
``passages`` from the graph's nodes and the learner's theta from the model;
the mastery estimates go in as a dict (mastered at >= ``TAU``; the others
feed each concept's remaining effort). This module builds those inputs from
the database-side facts (``facts.py``):

- the attributed graph is a copy of the curriculum version's cached concept
  graph, made once per version and item calibration (both immutable) and then
  reused, so the planner's own per-graph index (keyed by the graph object)
  stays warm;
- the last plan of each student is kept per process (a small LRU), and a
  refresh where only mastery estimates moved goes through ``replan``, the
  planner's incremental entry point; a refresh where nothing moved returns the
  same plan at no cost. New goals, a new theta or a new calibration plan from
  scratch (on the warm index).
"""

from __future__ import annotations

from collections import OrderedDict

import networkx as nx

from knowledge_graph import planner as _planner
from tutor.curricula.concept_graph import concept_graph
from tutor.curricula.models import Curriculum
from tutor.planning.facts import CurriculumFacts, StudentFacts

Plan = _planner.Plan
PlanError = _planner.PlanError
CostModel = _planner.CostModel

# Mastery at which a concept counts as learned: the planner's default, the usual bar of mastery learning.
TAU = _planner.DEFAULT_PLAN_TAU

_GRAPHS: OrderedDict[tuple, tuple[CurriculumFacts, nx.DiGraph]] = OrderedDict()
_PLANS: OrderedDict[tuple[int, int], Plan] = OrderedDict()
GRAPH_CACHE_SIZE = 64
PLAN_CACHE_SIZE = 2048  # students' last plans per process; a miss only costs a plan from scratch


def planning_graph(curriculum: Curriculum, facts: CurriculumFacts) -> nx.DiGraph:
    """The curriculum's concept graph with the cost model's node attributes (cached per version and facts)."""
    key = (curriculum.pk, curriculum.created_at, id(facts))
    hit = _GRAPHS.get(key)
    if hit is not None and hit[0] is facts:
        _GRAPHS.move_to_end(key)
        return hit[1]
    graph = concept_graph(curriculum).copy()
    for concept, data in graph.nodes(data=True):
        data["difficulty"] = facts.difficulty.get(concept)
        data["problems"] = facts.problems.get(concept, 0)
        data["passages"] = facts.passages.get(concept, 0)
    _GRAPHS[key] = (facts, graph)
    while len(_GRAPHS) > GRAPH_CACHE_SIZE:
        _GRAPHS.popitem(last=False)
    return graph


def cost_model(student: StudentFacts) -> CostModel:
    """One cost model per learner: their IRT theta (0, the population mean, before any scored item)."""
    return CostModel(theta=student.theta if student.theta is not None else 0.0)


def plan_for(
    student_id: int, curriculum: Curriculum, facts: CurriculumFacts, student: StudentFacts, goals: list[str]
) -> Plan | None:
    """The plan to ``goals`` for this learner (None when there is no goal), incremental when it can be.

    Raises the planner's ``PlanError`` subclasses (unknown id, cycle,
    unreachable goal), each naming the concepts at fault.
    """
    if not goals:
        return None
    graph = planning_graph(curriculum, facts)
    mastery = {c: m for c, m in student.mastery.items() if c in graph}
    cost = cost_model(student)
    key = (student_id, curriculum.pk)
    last = _PLANS.get(key)
    inputs = last._inputs if last is not None else None
    if inputs is not None and inputs.graph is graph and inputs.goals == tuple(goals) and inputs.cost == cost:
        changed = {c: m for c, m in mastery.items() if inputs.mastery.get(c) != m}
        plan = last if not changed else _planner.replan(last, changed)
    else:
        plan = _planner.plan_path(graph, mastery, goals, cost=cost, tau=TAU)
    _PLANS[key] = plan
    _PLANS.move_to_end(key)
    while len(_PLANS) > PLAN_CACHE_SIZE:
        _PLANS.popitem(last=False)
    return plan

"""The real Achieve the Core Coherence Map, loaded as a concept graph (pure, no database)."""

import copy
import json
import re
from pathlib import Path

import networkx as nx
import pytest

from knowledge_graph import (
    break_cycles,
    build_graph,
    coherence_to_concepts,
    find_cycles,
    neighbourhood,
    prerequisites_of,
    ready_concepts,
    topological_order,
    validate_coherence,
    validate_graph,
)

COHERENCE_MAP = Path(__file__).resolve().parents[2] / "shared" / "data" / "common_core_math_coherence.json"

# The map's only cycles: K.G.A.2 and each of K.G.A.3, K.G.B.4 list each other as prerequisites.
CYCLE_ISSUES = [
    "concepts[19].prerequisites[1]: cycle: K.G.A.3 -> K.G.A.2 -> K.G.A.3",
    "concepts[18].prerequisites[1]: cycle: K.G.A.2 -> K.G.B.4 -> K.G.A.2",
]


@pytest.fixture(scope="module")
def doc():
    return json.loads(COHERENCE_MAP.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def loaded(doc):
    return coherence_to_concepts(doc)


@pytest.fixture
def dag(loaded):
    concepts, related = loaded
    G = build_graph(concepts, related=related)
    break_cycles(G)
    return G


def test_the_real_map_has_no_shape_problems(doc):
    assert validate_coherence(doc) == []


def test_every_node_becomes_one_concept_named_by_its_standard(loaded):
    concepts, _ = loaded
    assert len(concepts) == 256
    assert len({c["id"] for c in concepts}) == 256
    assert all(c["standard"] == c["id"] and c["name"].startswith(c["id"] + ": ") for c in concepts)
    assert all(len(c["name"]) <= len(c["id"]) + 2 + 60 for c in concepts)


def test_descriptions_are_plain_text(loaded):
    concepts, _ = loaded
    by_id = {c["id"]: c for c in concepts}
    assert not [c["id"] for c in concepts if re.search(r"</?\w+>|&\w+;", c["description"])]
    assert "–3 °C > –7 °C" in by_id["6.NS.C.7b"]["description"]
    assert "x^2 = p" in by_id["8.EE.A.2"]["description"]


def test_prerequisite_and_related_edges_account_for_all_541_edges(loaded):
    concepts, related = loaded
    prerequisite_count = sum(len(c["prerequisites"]) for c in concepts)
    assert (prerequisite_count, len(related)) == (457, 84)
    assert prerequisite_count + len(related) == 541
    assert ("K.CC.B.4c", "K.CC.A.2") in related


def test_validate_graph_reports_the_two_cycles_and_nothing_else(loaded):
    concepts, _ = loaded
    assert [str(issue) for issue in validate_graph(concepts)] == CYCLE_ISSUES
    assert find_cycles(build_graph(concepts)) == [["K.G.A.2", "K.G.A.3"], ["K.G.A.2", "K.G.B.4"]]


def test_break_cycles_removes_exactly_the_reported_back_edges_and_leaves_a_dag(loaded):
    concepts, related = loaded
    G = build_graph(concepts, related=related)
    # The last arrow of each reported cycle.
    assert break_cycles(G) == [("K.G.A.2", "K.G.A.3"), ("K.G.B.4", "K.G.A.2")]
    assert nx.is_directed_acyclic_graph(G)
    assert G.number_of_edges() == 457 - 2
    assert len(topological_order(G)) == 256


def test_unit_fractions_in_grade_3_lead_to_adding_fractions_in_grade_5(dag):
    assert dag.has_edge("3.NF.A.1", "4.NF.B.3a") and dag.has_edge("4.NF.B.3a", "5.NF.A.1")
    assert "3.NF.A.1" in prerequisites_of(dag, "5.NF.A.1")
    assert "3.NF.A.1" not in prerequisites_of(dag, "5.NF.A.1", depth=1)
    order = topological_order(dag)
    assert order.index("3.NF.A.1") < order.index("4.NF.B.3a") < order.index("5.NF.A.1")


def test_a_new_student_is_ready_only_for_concepts_without_prerequisites(dag):
    ready = ready_concepts(dag, set())
    assert "K.CC.A.1" in ready
    assert all(dag.in_degree(c) == 0 for c in ready)


def test_related_links_widen_the_neighbourhood(dag):
    assert "K.CC.A.2" in neighbourhood(dag, "K.CC.B.4c", include_related=False)  # also a prerequisite
    with_related = neighbourhood(dag, "6.EE.B.7")
    without = neighbourhood(dag, "6.EE.B.7", include_related=False)
    assert {"6.EE.C.9", "6.RP.A.3b"} <= with_related - without


def test_every_shape_problem_is_reported_with_its_json_path(doc):
    broken = copy.deepcopy(doc)
    broken["edges"][12]["to"] = "4.XX.1"
    broken["edges"][13]["kind"] = "sometimes"
    broken["nodes"].append({"id": "K.CC.A.1", "description": 7})
    assert [str(issue) for issue in validate_coherence(broken)] == [
        "nodes[256].id: duplicate id 'K.CC.A.1' (first at nodes[0])",
        "nodes[256].description: description must be a string",
        "edges[12].to: unknown node '4.XX.1'",
        "edges[13].kind: kind must be 'prerequisite' or 'related', got 'sometimes'",
    ]


def test_coherence_to_concepts_raises_one_error_listing_every_problem(doc):
    broken = copy.deepcopy(doc)
    broken["edges"][12]["to"] = "4.XX.1"
    broken["edges"].append({"from": "K.CC.A.1", "to": "K.CC.A.1", "kind": "prerequisite", "note": ""})
    with pytest.raises(ValueError) as raised:
        coherence_to_concepts(broken)
    assert str(raised.value).splitlines() == [
        "invalid coherence map:",
        "edges[12].to: unknown node '4.XX.1'",
        "edges[541]: 'K.CC.A.1' is its own prerequisite",
    ]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "document: expected an object, got list"),
        ({"edges": []}, "nodes: missing"),
        ({"nodes": {}, "edges": []}, "nodes: expected a list, got dict"),
        ({"nodes": [], "edges": [{"from": "a", "to": "b", "kind": "related"}]}, "edges[0].from: unknown node 'a'"),
    ],
)
def test_a_malformed_document_is_refused_with_its_path(doc, message):
    assert str(validate_coherence(doc)[0]) == message
    with pytest.raises(ValueError, match="invalid coherence map"):
        coherence_to_concepts(doc)

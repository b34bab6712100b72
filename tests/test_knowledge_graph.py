"""The concept graph library on small hand-built graphs (pure, no database)."""

import random
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from knowledge_graph import (
    GraphIssue,
    Requirements,
    break_cycles,
    build_graph,
    dependents_of,
    find_cycles,
    is_ready,
    mastered_concepts,
    neighbourhood,
    neighbourhood_weights,
    overlay_mastery,
    prerequisites_of,
    ready_concepts,
    required_prerequisites,
    topological_order,
    validate_graph,
)

REPO = Path(__file__).resolve().parents[1]


def concept(cid, prerequisites=(), any_of=(), **extra):
    return {"id": cid, "name": cid.title(), "prerequisites": list(prerequisites), "any_of": [*any_of], **extra}


# count -> add, sub (AND); mul needs count (AND) and one of add/sub (OR); area needs mul.
ARITHMETIC = [
    concept("count", difficulty=0.1, standard="K.CC.A.1"),
    concept("add", ["count"]),
    concept("sub", ["count"]),
    concept("mul", ["count"], any_of=[["add", "sub"]]),
    concept("area", ["mul"]),
]


def codes(issues):
    return [issue.code for issue in issues]


def test_importing_knowledge_graph_does_not_import_django():
    # A fresh interpreter: pytest-django has already imported Django into this one.
    code = (
        "import sys, knowledge_graph; print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'tutor')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- build_graph ---------------------------------------------------------------------------------------------------


def test_build_graph_stores_concept_attributes_on_nodes():
    G = build_graph(ARITHMETIC)
    assert G.nodes["count"] == {
        "name": "Count",
        "description": "",
        "difficulty": 0.1,
        "standard": "K.CC.A.1",
        "any_of": [],
    }
    assert G.nodes["mul"]["any_of"] == [["add", "sub"]]


def test_build_graph_marks_and_edges_and_any_of_edges_with_their_group():
    G = build_graph(ARITHMETIC)
    assert G.edges["count", "mul"] == {"kind": "prerequisite", "group": None}
    assert G.edges["add", "mul"] == {"kind": "any_of", "group": 0}
    assert G.edges["sub", "mul"] == {"kind": "any_of", "group": 0}
    assert G.number_of_edges() == 6


def test_build_graph_keeps_related_links_out_of_the_edges():
    G = build_graph(ARITHMETIC, related=[("add", "sub")])
    assert G.graph["related"] == [("add", "sub")]
    assert not G.has_edge("add", "sub") and not G.has_edge("sub", "add")


# --- validate_graph ------------------------------------------------------------------------------------------------


def test_a_valid_concept_list_has_no_issues():
    assert validate_graph(ARITHMETIC) == []


def test_duplicate_id_names_the_id_and_the_first_occurrence():
    issues = validate_graph([concept("a"), concept("b"), concept("a")])
    assert issues == [GraphIssue("concepts[2].id", "duplicate id 'a' (first at concepts[0])", "duplicate_id")]


def test_unknown_prerequisite_is_reported_with_its_path():
    issues = validate_graph([concept("a"), concept("b", ["a", "X"])])
    assert [str(issue) for issue in issues] == ["concepts[1].prerequisites[1]: unknown concept 'X'"]
    assert codes(issues) == ["unknown_concept"]


def test_unknown_any_of_member_is_reported_with_its_group_path():
    issues = validate_graph([concept("a"), concept("a2"), concept("b", any_of=[["a"], ["a2", "nope"]])], path="curr")
    assert [str(issue) for issue in issues] == ["curr[2].any_of[1][1]: unknown concept 'nope'"]


def test_a_concept_listing_itself_is_a_self_prerequisite_not_a_cycle():
    issues = validate_graph([concept("a", ["a"])])
    assert codes(issues) == ["self_prerequisite"]
    assert issues[0].path == "concepts[0].prerequisites[0]"


def test_an_empty_any_of_group_is_reported():
    issues = validate_graph([concept("a"), concept("b", any_of=[["a"], []])])
    assert codes(issues) == ["empty_any_of_group"]
    assert issues[0].path == "concepts[1].any_of[1]"


def test_a_prerequisite_listed_twice_is_reported_at_the_second_listing():
    issues = validate_graph([concept("a"), concept("b", ["a"], any_of=[["a"]])])
    assert issues == [
        GraphIssue(
            "concepts[1].any_of[0][0]",
            "'a' is already a prerequisite of 'b' at concepts[1].prerequisites[0]",
            "duplicate_prerequisite",
        )
    ]


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        ("not a dict", "concepts[0]"),
        ({"name": "No id"}, "concepts[0].id"),
        ({"id": "a"}, "concepts[0].name"),
        ({"id": "a", "name": "A", "difficulty": "hard"}, "concepts[0].difficulty"),
        ({"id": "a", "name": "A", "standard": 3}, "concepts[0].standard"),
        ({"id": "a", "name": "A", "prerequisites": "b"}, "concepts[0].prerequisites"),
        ({"id": "a", "name": "A", "any_of": ["b"]}, "concepts[0].any_of[0]"),
        ({"id": "a", "name": "A", "prerequisites": [7]}, "concepts[0].prerequisites[0]"),
    ],
)
def test_badly_shaped_entries_are_reported_not_raised(entry, path):
    issues = validate_graph([entry])
    assert [(issue.path, issue.code) for issue in issues] == [(path, "invalid_shape")]


def test_a_concept_list_that_is_not_a_list_is_one_issue():
    assert codes(validate_graph({"id": "a"})) == ["invalid_shape"]


def test_every_problem_is_reported_at_once_not_just_the_first():
    issues = validate_graph(
        [
            concept("a", ["b"]),
            concept("b", ["a", "ghost"]),
            concept("a"),
            concept("c", ["c"], any_of=[[]]),
        ]
    )
    assert codes(issues) == ["unknown_concept", "duplicate_id", "self_prerequisite", "empty_any_of_group", "cycle"]


def test_a_two_cycle_is_reported_as_a_closed_arrow_chain():
    issues = validate_graph([concept("a", ["b"]), concept("b", ["a"])])
    assert issues == [GraphIssue("concepts[0].prerequisites[0]", "cycle: a -> b -> a", "cycle")]


def test_a_longer_cycle_lists_every_concept_and_points_at_the_edge_break_cycles_removes():
    concepts = [concept("a", ["c"]), concept("b", ["a"]), concept("c", ["b"])]
    issues = validate_graph(concepts)
    assert [str(issue) for issue in issues] == ["concepts[0].prerequisites[0]: cycle: a -> b -> c -> a"]
    # The last arrow, c -> a, is declared at a's prerequisites[0]; break_cycles removes that edge.
    assert break_cycles(build_graph(concepts)) == [("c", "a")]


def test_any_of_edges_count_for_cycles():
    issues = validate_graph([concept("a", any_of=[["b", "c"]]), concept("b", ["a"]), concept("c")])
    assert [str(issue) for issue in issues] == ["concepts[0].any_of[0][0]: cycle: a -> b -> a"]


def test_cycles_beyond_the_limit_are_counted_not_listed():
    # Every pair of four concepts depends on each other: 20 elementary cycles.
    ids = ["a", "b", "c", "d"]
    concepts = [concept(v, [u for u in ids if u != v]) for v in ids]
    issues = validate_graph(concepts, cycle_limit=3)
    assert codes(issues) == ["cycle"] * 4
    assert all(issue.message.startswith("cycle: ") for issue in issues[:3])
    assert issues[3] == GraphIssue("concepts", "17 more cycles not listed; fix these and validate again", "cycle")


def test_find_cycles_is_bounded_and_starts_each_cycle_at_its_smallest_id():
    G = nx.complete_graph(["c", "a", "b"], nx.DiGraph)
    assert find_cycles(G, limit=2) == sorted(find_cycles(G, limit=2))
    assert len(find_cycles(G, limit=2)) == 2
    assert all(cycle[0] == min(cycle) for cycle in find_cycles(G))
    assert len(find_cycles(G)) == 5


# --- break_cycles and topological_order ----------------------------------------------------------------------------


def test_break_cycles_removes_one_edge_of_a_two_cycle():
    G = build_graph([concept("a", ["b"]), concept("b", ["a"])])
    assert break_cycles(G) == [("b", "a")]
    assert list(G.edges) == [("a", "b")]


def test_break_cycles_leaves_a_dag_and_does_not_depend_on_input_order():
    ids = [f"n{i}" for i in range(12)]
    rng = random.Random(7)
    concepts = [concept(v, rng.sample([u for u in ids if u != v], 3)) for v in ids]
    removed = break_cycles(G := build_graph(concepts))
    assert removed and nx.is_directed_acyclic_graph(G)
    for _ in range(5):
        rng.shuffle(concepts)
        assert break_cycles(build_graph(concepts)) == removed


def test_break_cycles_on_a_dag_removes_nothing():
    G = build_graph(ARITHMETIC)
    assert break_cycles(G) == []
    assert G.number_of_edges() == 6


def test_break_cycles_takes_a_removed_any_of_member_out_of_its_group():
    G = build_graph([concept("a", any_of=[["b", "c"]]), concept("b", ["a"]), concept("c")])
    assert break_cycles(G) == [("b", "a")]
    assert G.nodes["a"]["any_of"] == [["c"]]


def test_topological_order_puts_prerequisites_first_and_breaks_ties_by_id():
    assert topological_order(build_graph(ARITHMETIC)) == ["count", "add", "sub", "mul", "area"]


def test_topological_order_refuses_a_cycle():
    with pytest.raises(nx.NetworkXUnfeasible):
        topological_order(build_graph([concept("a", ["b"]), concept("b", ["a"])]))


# --- mastery -------------------------------------------------------------------------------------------------------


def test_and_prerequisites_must_all_be_mastered():
    G = build_graph([concept("x"), concept("y"), concept("goal", ["x", "y"])])
    assert not is_ready(G, "goal", {"x"})
    assert is_ready(G, "goal", {"x", "y"})


def test_one_member_of_an_any_of_group_is_enough():
    G = build_graph(ARITHMETIC)
    assert not is_ready(G, "mul", {"count"})
    assert is_ready(G, "mul", {"count", "add"})
    assert is_ready(G, "mul", {"count", "sub"})


def test_every_any_of_group_needs_its_own_member():
    G = build_graph([concept("a"), concept("b"), concept("c"), concept("goal", any_of=[["a", "b"], ["c"]])])
    assert not is_ready(G, "goal", {"a", "b"})
    assert is_ready(G, "goal", {"b", "c"})


def test_a_group_emptied_by_break_cycles_asks_for_nothing():
    G = build_graph([concept("a", any_of=[["b"]]), concept("b", ["a"])])
    break_cycles(G)
    assert is_ready(G, "a", set())


def test_ready_concepts_are_unmastered_and_in_topological_order():
    G = build_graph(ARITHMETIC)
    assert ready_concepts(G, set()) == ["count"]
    assert ready_concepts(G, {"count"}) == ["add", "sub"]
    assert ready_concepts(G, {"count", "sub"}) == ["add", "mul"]


def test_overlay_mastery_copies_the_graph_and_thresholds_at_tau():
    G = build_graph(ARITHMETIC)
    H = overlay_mastery(G, {"count": 0.8, "add": 0.79, "elsewhere": 1.0})
    assert (H.nodes["count"]["mastery"], H.nodes["count"]["mastered"]) == (0.8, True)
    assert (H.nodes["add"]["mastery"], H.nodes["add"]["mastered"]) == (0.79, False)
    assert (H.nodes["area"]["mastery"], H.nodes["area"]["mastered"]) == (0.0, False)
    assert "elsewhere" not in H and "mastery" not in G.nodes["count"]
    assert mastered_concepts(H) == {"count"}
    assert mastered_concepts(overlay_mastery(G, {"count": 0.8, "add": 0.79}, tau=0.5)) == {"count", "add"}


def test_required_prerequisites_walk_and_edges_and_leave_any_of_choices_to_the_caller():
    assert required_prerequisites(build_graph(ARITHMETIC), "area", set()) == Requirements(
        required={"mul", "count"}, choices=[["add", "sub"]]
    )


def test_required_prerequisites_stop_at_mastered_concepts_and_satisfied_groups():
    G = build_graph(ARITHMETIC)
    assert required_prerequisites(G, "area", {"mul"}) == Requirements(set(), [])
    assert required_prerequisites(G, "area", {"sub"}) == Requirements({"mul", "count"}, [])
    assert required_prerequisites(G, "area", {"area"}) == Requirements(set(), [])


def test_a_choice_is_dropped_when_one_of_its_members_is_required_anyway():
    G = build_graph([concept("a"), concept("b"), concept("mid", ["a"]), concept("goal", ["mid"], any_of=[["a", "b"]])])
    assert required_prerequisites(G, "goal", set()) == Requirements({"mid", "a"}, [])


def test_mastery_functions_refuse_an_unknown_concept():
    G = build_graph(ARITHMETIC)
    with pytest.raises(nx.NodeNotFound):
        is_ready(G, "calculus", set())
    with pytest.raises(nx.NodeNotFound):
        required_prerequisites(G, "calculus", set())


# --- neighbourhood -------------------------------------------------------------------------------------------------

CHAIN = [concept("a"), concept("b", ["a"]), concept("c", ["b"]), concept("d", ["c"]), concept("z")]


def test_neighbourhood_grows_with_radius_in_both_directions():
    G = build_graph(CHAIN)
    assert neighbourhood(G, "b", radius=0) == {"b"}
    assert neighbourhood(G, "b", radius=1) == {"a", "b", "c"}
    assert neighbourhood(G, "b", radius=2) == {"a", "b", "c", "d"}


def test_related_links_count_as_one_hop_only_when_asked():
    G = build_graph(CHAIN, related=[("z", "a")])
    assert neighbourhood(G, "a") == {"a", "b", "z"}
    assert neighbourhood(G, "a", include_related=False) == {"a", "b"}


def test_neighbourhood_refuses_an_unknown_concept_and_a_negative_radius():
    G = build_graph(CHAIN)
    with pytest.raises(nx.NodeNotFound):
        neighbourhood(G, "nope")
    with pytest.raises(ValueError):
        neighbourhood(G, "a", radius=-1)


def test_prerequisites_and_dependents_respect_depth():
    G = build_graph(CHAIN)
    assert prerequisites_of(G, "d") == {"a", "b", "c"}
    assert prerequisites_of(G, "d", depth=2) == {"b", "c"}
    assert dependents_of(G, "a") == {"b", "c", "d"}
    assert dependents_of(G, "a", depth=1) == {"b"}
    assert prerequisites_of(G, "z") == set() == dependents_of(G, "z")


def test_neighbourhood_weights_halve_with_each_hop():
    G = build_graph(CHAIN, related=[("d", "z")])
    assert neighbourhood_weights(G, "c") == {"c": 1.0, "b": 0.5, "d": 0.5, "a": 0.25, "z": 0.25}
    assert neighbourhood_weights(G, "c", radius=1, include_related=False, decay=0.1) == {"c": 1.0, "b": 0.1, "d": 0.1}

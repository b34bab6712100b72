"""The learner model: BKT baseline, the product mastery model, graph propagation, state persistence."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest

from knowledge_graph import build_graph
from models.mastery import (
    BKT,
    BKTParams,
    Evidence,
    LearnerState,
    MasteryModel,
    PropagationConfig,
    propagate,
    read_sequences,
    readiness,
)

from .conftest import SHARED_DATA

TRUE = {"a": BKTParams(0.3, 0.15, 0.2, 0.1), "b": BKTParams(0.6, 0.05, 0.25, 0.05)}


def simulate(params: dict[str, BKTParams], n_students: int, seed: int = 0) -> list[tuple[list[str], list[int]]]:
    """Students answering each skill in turn, drawn from BKT with ``params``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_students):
        skills, correct = [], []
        for skill, p in params.items():
            known = rng.random() < p.p_init
            for _ in range(rng.integers(4, 16)):
                correct.append(int(rng.random() < (1 - p.p_slip if known else p.p_guess)))
                skills.append(skill)
                known = known or rng.random() < p.p_learn
        out.append((skills, correct))
    return out


@pytest.fixture(scope="module")
def model() -> MasteryModel:
    return MasteryModel().fit(simulate(TRUE, 400, seed=1))


@pytest.fixture
def graph():
    return build_graph(
        [
            {"id": "count", "name": "Counting"},
            {"id": "add", "name": "Addition", "prerequisites": ["count"]},
            {"id": "sub", "name": "Subtraction", "prerequisites": ["count"]},
            {"id": "mul", "name": "Multiplication", "any_of": [["add", "sub"]]},
        ]
    )


# -- data ----------------------------------------------------------------------------------------------------


def test_read_sequences_drops_trailing_commas_and_names_a_bad_record():
    seqs = read_sequences(io.StringIO("2,\n12,7,\n1,0,\n"))
    assert (seqs[0].skills, seqs[0].correct) == (["12", "7"], [1, 0])
    with pytest.raises(ValueError, match="line 1"):
        read_sequences(io.StringIO("3\n1,2\n1,0\n"))


@pytest.mark.skipif(not (SHARED_DATA / "assistments2009_builder_test.csv").exists(), reason="no shared data")
def test_assistments_test_split_has_the_documented_size():
    seqs = read_sequences(SHARED_DATA / "assistments2009_builder_test.csv")
    assert (len(seqs), sum(len(s.skills) for s in seqs)) == (856, 117_567)


# -- BKT -----------------------------------------------------------------------------------------------------


def test_bkt_recovers_the_parameters_it_was_simulated_with():
    bkt = BKT().fit(simulate(TRUE, 3000, seed=2))
    for skill, true in TRUE.items():
        got = bkt.params_[skill]
        for name in ("p_init", "p_learn", "p_guess", "p_slip"):
            assert getattr(got, name) == pytest.approx(getattr(true, name), abs=0.06), (skill, name)


def test_bkt_keeps_guess_and_slip_below_the_bound():
    # Noise: no learning signal at all, where unconstrained EM is free to wander.
    rng = np.random.default_rng(3)
    bkt = BKT().fit([(["x"] * 10, list(rng.integers(0, 2, 10))) for _ in range(200)])
    assert bkt.params_["x"].p_guess < 0.3 and bkt.params_["x"].p_slip < 0.3


def test_bkt_online_update_matches_predict_proba():
    bkt = BKT().fit(simulate(TRUE, 200))
    skills, correct = ["a", "a", "b", "a"], [1, 0, 1, 1]
    state_a, state_b = bkt.initial_state("a"), bkt.initial_state("b")
    expected = []
    for k, c in zip(skills, correct, strict=True):
        s = state_a if k == "a" else state_b
        expected.append(bkt.predict_next(s))
        s = bkt.update(s, bool(c))
        state_a, state_b = (s, state_b) if k == "a" else (state_a, s)
    np.testing.assert_allclose(bkt.predict_proba([(skills, correct)]), expected)
    assert bkt.update(bkt.initial_state("a"), True).p_known > bkt.update(bkt.initial_state("a"), False).p_known


# -- the mastery model ---------------------------------------------------------------------------------------


def test_fitted_signs_make_mastery_monotone(model):
    assert all(w >= 0 for w in model.coef_.values())
    assert all(g >= 0 for g in model.gamma_.values()) and all(r <= 0 for r in model.rho_.values())


@pytest.mark.parametrize("concept", ["a", "b", "never-fitted"])
def test_mastery_rises_with_each_correct_answer_and_falls_with_each_wrong_one(model, concept):
    up, down = model.learner(), model.learner()
    for _ in range(15):
        before_up, before_down = up.mastery(concept), down.mastery(concept)
        up.update(Evidence(concept, True))
        down.update(Evidence(concept, False))
        assert up.mastery(concept) > before_up
        assert down.mastery(concept) < before_down
    assert up.mastery(concept) > 0.8 > 0.3 > down.mastery(concept)


def test_mastery_beats_chance_on_held_out_students(model):
    from sklearn.metrics import roc_auc_score

    held_out = simulate(TRUE, 300, seed=9)
    y = np.concatenate([c for _, c in held_out])
    assert roc_auc_score(y, model.predict_proba(held_out)) > 0.7


def test_a_hint_is_weak_negative_evidence(model):
    def after(e: Evidence) -> float:
        learner = model.learner()
        learner.update(Evidence("a", True))
        learner.update(e)
        return learner.mastery("a")

    start = model.learner()
    start.update(Evidence("a", True))
    base = start.mastery("a")
    hint, wrong = after(Evidence("a", False, kind="hint")), after(Evidence("a", False))
    assert wrong < hint < base
    # A hint is negative even when the step was then answered correctly.
    assert after(Evidence("a", True, kind="hint")) == hint
    # A scaffolded subproblem moves mastery less than an assessment item.
    assert base < after(Evidence("a", True, kind="subproblem")) < after(Evidence("a", True))


def test_evidence_validates_kind_and_weight():
    with pytest.raises(ValueError):
        Evidence("a", True, kind="guess")
    with pytest.raises(ValueError):
        Evidence("a", True, weight=0.0)


# -- graph propagation ---------------------------------------------------------------------------------------


def test_success_on_a_dependent_raises_its_prerequisites(model, graph):
    plain, linked = model.learner(), model.learner(graph=graph)
    for learner in (plain, linked):
        learner.update(Evidence("add", True))
    assert linked.mastery("count") > plain.mastery("count")
    assert linked.mastery("add") == plain.mastery("add")
    # Inferred evidence is discounted and does not count as the learner's own answer.
    assert linked.state.n_evidence == 1
    assert linked.state.concepts["count"].successes == pytest.approx(PropagationConfig().success_discount)


def test_failure_on_a_prerequisite_lowers_its_dependents_readiness(model, graph):
    learner = model.learner(graph=graph)
    before = {c: learner.readiness(c) for c in ("add", "sub", "mul")}
    for _ in range(3):
        learner.update(Evidence("count", False))
    assert learner.readiness("add") < before["add"] and learner.readiness("sub") < before["sub"]
    assert learner.readiness("mul") < before["mul"]
    assert learner.readiness("count") == 1.0  # no prerequisites


def test_readiness_is_and_over_prerequisites_and_or_within_an_any_of_group(graph):
    assert readiness(graph, "mul", {"add": 0.9, "sub": 0.1}) == pytest.approx(0.9)
    assert readiness(graph, "mul", {"add": 0.1, "sub": 0.9}) == pytest.approx(0.9)
    G = build_graph([{"id": "p"}, {"id": "q"}, {"id": "r", "prerequisites": ["p", "q"]}])
    assert readiness(G, "r", {"p": 0.9, "q": 0.5}) == pytest.approx(0.45)
    assert readiness(G, "r", {"p": 0.9, "q": 0.5}, combine="min") == pytest.approx(0.5)


def test_any_of_groups_propagate_as_or(graph):
    masteries = {"count": 0.9, "add": 0.9, "sub": 0.2}
    # Success on mul credits only the group member most likely used.
    targets = {e.concept: e.weight for e in propagate(graph, masteries, Evidence("mul", True))}
    assert "add" in targets and "sub" not in targets
    # Failure on sub barely matters to mul while add (the other route) is mastered ...
    down = {e.concept: e.weight for e in propagate(graph, masteries, Evidence("sub", False))}
    assert "mul" not in down or down["mul"] < 0.05
    # ... but counts when add is not.
    down = {e.concept: e.weight for e in propagate(graph, masteries | {"add": 0.1}, Evidence("sub", False))}
    assert down["mul"] > 0.2


def test_failure_on_one_route_of_an_any_of_group_matters_less_than_on_an_and_prerequisite(model, graph):
    and_graph = build_graph(
        [{"id": "count"}, {"id": "add"}, {"id": "sub"}, {"id": "mul", "prerequisites": ["add", "sub"]}]
    )
    learners = {"none": model.learner(), "or": model.learner(graph=graph), "and": model.learner(graph=and_graph)}
    for learner in learners.values():
        for _ in range(5):
            learner.update(Evidence("add", True))
        learner.update(Evidence("sub", False))  # with OR, mul can still be reached through add
    mul = {name: learner.mastery("mul") for name, learner in learners.items()}
    assert mul["and"] < mul["or"] - 0.02
    assert mul["or"] == pytest.approx(mul["none"], abs=0.02)


def test_online_update_is_well_under_5_ms(model, graph):
    learner = model.learner(graph=graph)
    rng = np.random.default_rng(0)
    concepts = list(graph.nodes)
    times = []
    for i in range(1000):
        e = Evidence(concepts[i % len(concepts)], bool(rng.random() < 0.7), kind="subproblem")
        t = time.perf_counter()
        learner.update(e)
        learner.mastery(e.concept)
        times.append(time.perf_counter() - t)
    assert np.percentile(times, 95) < 0.005


# -- persistence ---------------------------------------------------------------------------------------------


def test_learner_state_round_trips_through_json_and_replay_rebuilds_it(model, graph):
    learner = model.learner(graph=graph)
    log = [Evidence("add", True), Evidence("count", False, kind="hint"), Evidence("mul", True, 0.5, "subproblem")]
    for e in log:
        learner.update(e)
    stored = json.loads(json.dumps(learner.state.to_dict()))
    restored = model.learner(LearnerState.from_dict(stored), graph=graph)
    assert restored.state == learner.state
    assert restored.masteries() == learner.masteries()
    replayed = model.learner(graph=graph)
    for e in (Evidence.from_dict(json.loads(json.dumps(e.to_dict()))) for e in log):
        replayed.update(e)
    assert replayed.state == learner.state
    with pytest.raises(ValueError, match="version"):
        LearnerState.from_dict({**stored, "version": 99})


def test_fitted_model_round_trips_through_json(model):
    again = MasteryModel.from_dict(json.loads(json.dumps(model.to_dict())))
    state = LearnerState()
    model.apply(state, Evidence("a", True))
    assert again.mastery(state, "a") == model.mastery(state, "a")
    assert again.mastery(state, "unseen") == model.mastery(state, "unseen")

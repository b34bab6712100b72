"""Evaluation: validity and label scores against gold, the tuned model beside the base and the scripted tutor."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from models.llm.evaluate import macro_f1, score
from models.llm.registry import REPORT
from models.llm.serving import auto_dtype
from models.llm.simulate import forced_prefix, play_all, utterance_from
from tests.llm_fixtures import DEMO, TINY_MODEL, tiny_registry
from tutor.agents.simstudents import load_problem_keys, population

GOLD = '{"evaluation":"b","action":3,"subproblem_state":"y","subproblem":"q","utterance":"Yes!"}'


def _example(evaluation: str, action: int, state: str) -> dict:
    return {"labels": {"evaluation": evaluation, "action": action, "subproblem_state": state}}


def test_invalid_output_counts_against_validity_and_every_label():
    examples = [_example("b", 3, "y"), _example("b", 3, "y")]
    result = score(examples, [GOLD, "Great job, the answer is 7/8!"])
    assert result["json_validity"] == 0.5
    assert result["action"]["accuracy"] == 0.5 and result["evaluation"]["accuracy"] == 0.5


def test_macro_f1_weighs_a_rare_class_like_a_common_one():
    gold = ["x"] * 9 + ["z"]
    assert macro_f1(gold, ["x"] * 10) == pytest.approx((2 * 9 / (2 * 9 + 1)) / 2)
    assert macro_f1(gold, gold) == 1.0


def test_eval_tutor_writes_a_side_by_side_report_into_the_registry(tmp_path_factory, settings, capsys):
    settings.MODEL_REGISTRY_DIR = tiny_registry(tmp_path_factory)
    args = ["--model", TINY_MODEL, "--limit", "2", "--max-new-tokens", "12", "--batch-size", "2", "--dialogues", "0"]
    call_command("eval_tutor", *args, "--dtype", "float32")
    summary = json.loads(capsys.readouterr().out)
    report = json.loads((settings.MODEL_REGISTRY_DIR / TINY_MODEL / REPORT).read_text())
    assert summary["report"].endswith(REPORT)
    assert report["split"] == "test" and report["n"] == 2
    assert report["model"] == TINY_MODEL and set(report["systems"]) == {"finetuned", "base", "scripted"}
    assert report["dtype"] == "float32"
    for result in report["systems"].values():
        assert 0.0 <= result["json_validity"] <= 1.0
        assert {"accuracy", "macro_f1"} <= set(result["action"])
    assert report["systems"]["scripted"]["action"]["accuracy"] == 1.0
    assert report["samples"]["finetuned"][0]["gold"]
    assert set(report["gain_over"]) == {"base", "scripted"}
    assert {"json_validity", "action_accuracy"} <= set(report["gain_over"]["base"])


def test_eval_tutor_names_an_unknown_model(settings, tmp_path):
    settings.MODEL_REGISTRY_DIR = tmp_path
    with pytest.raises(CommandError, match="no model 'ghost'"):
        call_command("eval_tutor", "--model", "ghost")


def _pairs(n: int):
    problems = load_problem_keys(DEMO / "fractions.yaml")[:2]
    return population(problems, seed=0)[:n]


class _Teller:
    """A model that blurts out the current step's answer key: what the guard exists for."""

    name = "teller"

    def utterances(self, prompts):
        systems = [messages[0]["content"].splitlines() for messages, _ in prompts]
        keys = [next(line for line in lines if line.startswith("Answer key: ")) for lines in systems]
        return [f"Good try! The answer is {key.removeprefix('Answer key: ')}." for key in keys]


class _Mute:
    name = "mute"

    def utterances(self, prompts):
        return ["" for _ in prompts]


def test_a_telling_model_is_caught_before_the_guard_and_never_after():
    told = play_all(_pairs(12), _Teller(), max_turns=3)
    assert told["telling_rate_raw"] > 0.0 and told["telling_rate"] == 0.0
    assert told["guard"].get("rewritten", 0) + told["guard"].get("blocked", 0) > 0
    scripted = play_all(_pairs(12), None, max_turns=3)
    assert scripted["telling_rate_raw"] == 0.0 and scripted["telling_rate"] == 0.0 and scripted["fallbacks"] == 0


def test_success_at_7_counts_misconception_students_who_solve_it_themselves():
    pairs = [(p, s) for p, s in _pairs(200) if s.persona == "misconception"]
    result = play_all(pairs, None)
    assert result["misconception_dialogues"] == len(pairs) > 0
    assert 0.0 < result["success_at_7"] <= 1.0 and result["success_at_7_se"] >= 0.0


def test_an_empty_utterance_falls_back_to_the_scripted_words_and_is_counted():
    result = play_all(_pairs(3), _Mute(), max_turns=2)
    assert result["fallbacks"] == result["turns"] > 0


def test_the_utterance_is_read_up_to_its_closing_quote_and_unescaped():
    assert utterance_from('Say \\"half\\".\\nThen"} trailing') == 'Say "half".\nThen'
    assert forced_prefix({"evaluation": "a", "action": 1, "subproblem_state": "x", "subproblem": 'Why "x"?'}).endswith(
        '"subproblem":"Why \\"x\\"?","utterance":"'
    )


def test_eval_tutor_plays_simulated_students_with_each_system_wording(tmp_path_factory, settings, capsys):
    settings.MODEL_REGISTRY_DIR = tiny_registry(tmp_path_factory)
    args = ["--model", TINY_MODEL, "--limit", "1", "--dialogues", "2", "--max-turns", "2", "--max-new-tokens", "8"]
    call_command("eval_tutor", *args, "--utterance-tokens", "8", "--batch-size", "2", "--threads", "1")
    summary = json.loads(capsys.readouterr().out)
    report = json.loads((settings.MODEL_REGISTRY_DIR / TINY_MODEL / REPORT).read_text())
    assert set(report["dialogues"]) == set(summary["dialogues"]) == {"finetuned", "base", "scripted"}
    assert report["dtype"] == auto_dtype("cpu")  # by default, the dtype the engine serves in here
    for result in report["dialogues"].values():
        assert result["dialogues"] == 2 and 0 < result["turns"] <= 4
        assert result["telling_rate"] == 0.0 and 0.0 <= result["telling_rate_raw"] <= 1.0
        assert 0.0 <= result["success_at_7"] <= 1.0
    assert report["systems"]["finetuned"]["json_validity_se"] >= 0.0

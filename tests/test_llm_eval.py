"""Evaluation: validity and label scores against gold, the tuned model beside the base and the scripted tutor."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from models.llm.evaluate import macro_f1, score
from models.llm.registry import REPORT
from tests.llm_fixtures import TINY_MODEL, tiny_registry

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
    call_command("eval_tutor", "--model", TINY_MODEL, "--limit", "2", "--max-new-tokens", "12", "--batch-size", "2")
    summary = json.loads(capsys.readouterr().out)
    report = json.loads((settings.MODEL_REGISTRY_DIR / TINY_MODEL / REPORT).read_text())
    assert summary["report"].endswith(REPORT)
    assert report["split"] == "test" and report["n"] == 2
    assert report["model"] == TINY_MODEL and set(report["systems"]) == {"finetuned", "base", "scripted"}
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

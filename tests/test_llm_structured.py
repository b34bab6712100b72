"""Structured decoding: every record parses, and each label is the model's own most likely code-book value."""

from __future__ import annotations

import json

import pytest

from models.llm.dataset import read_split
from models.llm.structured import CHOICES, StructuredConfig, common_prefix, decode_record, key_text
from models.llm.turnformat import parse_record
from tests.llm_fixtures import smollm2_dir, tiny_dataset


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    path = smollm2_dir(tmp_path_factory)
    return AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path).eval()


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return read_split(tiny_dataset(tmp_path_factory), "test")[0]


def _prompt(tokenizer, example) -> list[int]:
    return list(
        tokenizer.apply_chat_template(example["messages"], add_generation_prompt=True, return_dict=True)["input_ids"]
    )


def test_the_untuned_base_writes_a_valid_record_under_structured_decoding(smollm2, example):
    tokenizer, model = smollm2
    text = decode_record(model, tokenizer, _prompt(tokenizer, example), StructuredConfig(8, 8))
    record = parse_record(text)
    assert record is not None, text
    assert json.loads(text) == record


def test_the_action_is_the_most_likely_one_scored_from_scratch(smollm2, example):
    """The cursor's cached, cut-back scoring must agree with a plain forward pass per choice."""
    import torch

    tokenizer, model = smollm2
    prompt = _prompt(tokenizer, example)
    record = json.loads(decode_record(model, tokenizer, prompt, StructuredConfig(4, 4)))
    text = key_text("evaluation") + json.dumps(record["evaluation"]) + key_text("action")
    after = key_text("subproblem_state")

    def ids(s: str) -> list[int]:
        return prompt + tokenizer(s, add_special_tokens=False)["input_ids"]

    start = max(len(prompt), min(common_prefix(ids(text), ids(text + c + after)) for c in CHOICES["action"]))
    scores = {}
    with torch.inference_mode():
        for choice in CHOICES["action"]:
            full = ids(text + choice + after)
            logp = torch.log_softmax(model(input_ids=torch.tensor([full])).logits[0].float(), dim=-1)
            scores[choice] = float(sum(logp[i - 1, full[i]] for i in range(start, len(full))))
    assert json.dumps(record["action"]) == max(scores, key=scores.get)

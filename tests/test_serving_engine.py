"""The serving engine (models/llm/serving.py) and the served backend, without Django.

Most tests use the tiny random Llama of ``test_llm_backends`` (its words are
nonsense, but batching, padding, positions and the prefix cache are real, and
greedy decoding must match plain ``model.generate`` token for token). One
test runs the real SmolLM2 through the served backend's forced JSON prefix.
"""

from __future__ import annotations

import threading
import time

import pytest

from models.llm import serving
from models.llm.serving import Engine, EngineConfig, EngineTimeout, auto_dtype
from tests.llm_fixtures import smollm2_dir
from tests.test_llm_backends import _save_tiny_model
from tutor.agents import pipeline
from tutor.agents.backends import BackendError
from tutor.agents.llm.served import ServedConfig, ServedVerbaliser, forced_prefix
from tutor.agents.problem import Position, ProblemKey, Step

WORDS = [
    "the tutor says add the numerators",
    "try the smallest number both divide good work you found the common denominator",
    "what is three quarters plus one eighth",
    "let us look at the fractions again what is three quarters plus one eighth the tutor says",
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("serving-tiny")
    _save_tiny_model(directory)
    return str(directory)


@pytest.fixture(scope="module")
def engine(tiny_dir) -> Engine:
    eng = Engine(EngineConfig(base_dir=tiny_dir, dtype="float32", min_prefix_tokens=4))
    eng.load()
    return eng


def _ids(engine: Engine, text: str) -> list[int]:
    return engine.tokenizer(text, add_special_tokens=False)["input_ids"]


def _plain(engine: Engine, ids: list[int], n: int) -> str:
    import torch

    out = engine.model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False, pad_token_id=0)
    kept = [t for t in out[0, len(ids) :].tolist() if t not in engine.eos]
    return engine.tokenizer.decode(kept, skip_special_tokens=True)


def test_concurrent_requests_of_different_lengths_match_plain_generate(engine):
    prompts = [_ids(engine, w) for w in WORDS]
    lengths = [12, 4, 9, 6]  # rows leave the batch at different steps while others go on
    results: dict[int, str] = {}
    steps_before = engine.steps
    requests = [engine.submit(p, max_new_tokens=n, timeout_s=60) for p, n in zip(prompts, lengths, strict=True)]

    def run(i: int) -> None:
        results[i] = "".join(engine.deltas(requests[i]))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for i, ids in enumerate(prompts):
        assert results[i] == _plain(engine, ids, lengths[i]), f"prompt {i} decoded differently in the batch"
    # Batched: the four requests took fewer decode steps than one after the other.
    assert engine.steps - steps_before < sum(n - 1 for n in lengths)


def test_a_shared_prefix_is_reused_and_changes_nothing(engine):
    first = _ids(engine, WORDS[3])
    again = first[:-2] + _ids(engine, "good work")
    engine.stream(first, max_new_tokens=3, timeout_s=60, cache_key="s1").close()
    request = engine.submit(again, max_new_tokens=10, timeout_s=60, cache_key="s1")
    text = "".join(engine.deltas(request))
    assert request.reused_tokens == len(first) - 2
    assert text == _plain(engine, again, 10)


def test_a_prefill_caches_a_prefix_and_generates_nothing(engine):
    prefix = _ids(engine, WORDS[3])
    full = prefix + _ids(engine, "good work you found")
    ahead = engine.prefill(prefix, cache_key="typing")
    assert list(engine.deltas(ahead)) == [] and ahead.new_tokens == 0
    request = engine.submit(full, max_new_tokens=5, timeout_s=60, cache_key="typing")
    text = "".join(engine.deltas(request))
    assert request.reused_tokens == len(prefix)  # only the new words were prefilled
    assert text == _plain(engine, full, 5)


def test_a_request_past_its_deadline_times_out_and_the_engine_goes_on(engine):
    with pytest.raises(EngineTimeout):
        "".join(engine.stream(_ids(engine, WORDS[1]), max_new_tokens=500, timeout_s=0.001))
    assert "".join(engine.stream(_ids(engine, WORDS[0]), max_new_tokens=5, timeout_s=60)) == _plain(
        engine, _ids(engine, WORDS[0]), 5
    )


def test_a_reader_that_stops_early_frees_its_row(engine):
    stream = engine.stream(_ids(engine, WORDS[2]), max_new_tokens=400, timeout_s=60)
    next(stream)
    stream.close()
    deadline = time.monotonic() + 10
    while engine._rows and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine._rows == []


def test_stop_cuts_the_text_where_it_says(engine):
    ids = _ids(engine, WORDS[0])
    full = _plain(engine, ids, 12)
    cut = "".join(engine.stream(ids, max_new_tokens=12, timeout_s=60, stop=lambda t: 5 if len(t) >= 5 else None))
    assert cut == full[:5]


MAYA = ProblemKey(
    id="maya",
    statement="Maya ran 3/4 of a mile, then 1/8 of a mile. How far did she run?",
    steps=(
        Step(
            prompt="What is the least common denominator of 4 and 8?",
            answer={"kind": "number", "value": "8"},
            hints=("The smallest number both 4 and 8 divide.",),
            solution="The least common denominator is 8.",
            misconceptions=({"id": "sum", "answer": "12", "feedback": "Do not add the denominators."},),
        ),
        Step(prompt="What is 3/4 + 1/8?", answer={"kind": "number", "value": "7/8"}, hints=("Use eighths.",)),
    ),
    answer={"kind": "number", "value": "7/8"},
)


def test_served_backend_words_a_turn_the_policy_decided(tiny_dir):
    served = ServedVerbaliser(ServedConfig(base_dir=tiny_dir, dtype="float32", max_new_tokens=8))
    seen: list[str] = []
    inp = pipeline.TurnInput(problem=MAYA, position=Position(), kind="answer", text="12")
    record = pipeline.turn(inp, verbaliser=served, on_delta=seen.append).record
    scripted = pipeline.turn(inp).record
    assert record.backend == "served" and record.utterance != scripted.utterance
    labels = ("evaluation", "action", "subproblem_state", "misconception")
    assert [getattr(record, k) for k in labels] == [getattr(scripted, k) for k in labels]
    assert record.guard == "passed" and "".join(seen).strip() == record.utterance


def test_served_backend_times_out_into_the_scripted_words(tiny_dir):
    served = ServedVerbaliser(ServedConfig(base_dir=tiny_dir, dtype="float32", max_new_tokens=400, timeout_s=0.001))
    with pytest.raises(BackendError, match="timed out"):
        list(served.stream_turn(_ctx(), {"evaluation": "b", "action": 3, "subproblem_state": "x", "subproblem": "q"}))
    out = pipeline.turn(pipeline.TurnInput(MAYA, Position(), "answer", "12"), verbaliser=served)
    assert out.record.backend == "scripted" and "served backend failed" in out.record.thoughts


def _ctx():
    from models.llm.turnformat import TurnContext

    return TurnContext(MAYA, Position(), "answer", "12")


def test_real_smollm2_writes_only_the_utterance_and_stops_at_the_closing_quote(tmp_path_factory):
    served = ServedVerbaliser(ServedConfig(base_dir=str(smollm2_dir(tmp_path_factory)), max_new_tokens=60))
    decided = {"evaluation": "b", "action": 3, "subproblem_state": "x", "subproblem": MAYA.steps[0].prompt}
    pieces = list(served.stream_turn(_ctx(), decided, cache_key="maya"))
    text = "".join(pieces)
    assert text.strip() and '"evaluation"' not in text and '"}' not in text
    engine = served.engine
    # The same turn again reuses the whole stable prefix from the cache.
    ids = engine.tokenizer(
        engine.tokenizer.apply_chat_template(
            __import__("models.llm.turnformat", fromlist=["x"]).build_messages(_ctx()),
            add_generation_prompt=True,
            tokenize=False,
        )
        + forced_prefix(decided),
        add_special_tokens=False,
    )["input_ids"]
    request = engine.submit(ids, max_new_tokens=60, timeout_s=60, stop=None, cache_key="maya")
    list(engine.deltas(request))
    assert request.reused_tokens == len(ids) - 1


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "expected"),
    [(False, False, "float32"), (True, False, "bfloat16"), (False, True, "bfloat16")],
)
def test_auto_dtype_is_bfloat16_only_on_a_cpu_with_native_bf16(monkeypatch, avx512_bf16, amx, expected):
    import torch

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    assert auto_dtype("cpu") == expected
    assert auto_dtype("cuda") == "bfloat16"


def test_auto_dtype_is_float32_where_torch_has_no_cpu_probes(monkeypatch):
    import torch

    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert auto_dtype("cpu") == "float32"


def test_an_engine_with_a_merged_adapter_keeps_its_weights_foldable(tiny_dir, tmp_path):
    """A merged LoRA model comes back frozen, which sends bfloat16 prefills down a slow matmul path."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    lora = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_dir), LoraConfig(r=2, target_modules=["q_proj"]))
    lora.save_pretrained(tmp_path / "adapter")
    engine = Engine(EngineConfig(base_dir=tiny_dir, adapter_dir=str(tmp_path / "adapter"), dtype="bfloat16"))
    engine.load()
    try:
        assert all(p.requires_grad for p in engine.model.parameters())
        request = engine.submit(_ids(engine, WORDS[0]), max_new_tokens=3, min_new_tokens=3, timeout_s=60)
        "".join(engine.deltas(request))
        assert request.new_tokens == 3  # and it still generates
    finally:
        engine.close()


def test_an_idle_shared_engine_is_let_go_when_another_is_made_and_loads_again_if_asked(tiny_dir, monkeypatch):
    monkeypatch.setattr(serving, "_shared", {})
    monkeypatch.setattr(serving, "IDLE_ENGINE_S", 0.0)
    old_config = EngineConfig(base_dir=tiny_dir, dtype="float32")
    old = serving.shared_engine(old_config)
    assert serving.shared_engine(old_config) is old  # one engine per configuration
    old.load()
    words = "".join(old.stream(_ids(old, WORDS[0]), max_new_tokens=3, timeout_s=60))
    promoted = serving.shared_engine(EngineConfig(base_dir=tiny_dir, dtype="float32", max_batch=4))
    assert old_config not in serving._shared and old.model is None  # closed: its memory can go
    again = serving.shared_engine(old_config)
    assert again is not old
    again.load()
    assert "".join(again.stream(_ids(again, WORDS[0]), max_new_tokens=3, timeout_s=60)) == words
    for engine in (promoted, again):
        engine.close()

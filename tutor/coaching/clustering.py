"""Cluster short free-text wrong answers by meaning: pure (no Django), so it is tested without a database.

Why this algorithm: a class produces tens of unmatched wrong answers per
subproblem, not thousands, and a teacher needs clusters that are easy to
explain. Greedy leader clustering on cosine similarity does that: answers are
taken most-frequent first; each joins the first cluster whose leader is at
least ``THRESHOLD`` similar, else starts its own. The leader (the most
frequent answer of the cluster) is its representative.

Vectors come from MiniLM (``models.embeddings``, unit-normalised, so cosine is
a dot product). Identical answers (after case and space folding) are always
one cluster, and if the model is not installed the clustering falls back to
exactly that, and says so in ``method``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.85

Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Cluster:
    representative: str
    members: list[int]  # indices into the input
    method: str  # "minilm" or "exact"


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def default_embed(texts: list[str]) -> np.ndarray:
    from models.embeddings import get_embedder

    return get_embedder().encode(texts)


def cluster_texts(texts: Sequence[str], *, embed: Embed | None = None, threshold: float = THRESHOLD) -> list[Cluster]:
    """Clusters of ``texts``, largest first; each member index appears in exactly one cluster."""
    if not texts:
        return []
    folded = [_fold(t) for t in texts]
    counts = Counter(folded)
    distinct = sorted(counts, key=lambda t: (-counts[t], t))
    first_text = {}
    for t, f in zip(texts, folded, strict=True):
        first_text.setdefault(f, t.strip())
    method = "minilm"
    try:
        vectors = np.asarray((embed or default_embed)(distinct), dtype=np.float32)
    except Exception:  # noqa: BLE001 - a missing model must not break the report; it says what it used instead
        vectors, method = None, "exact"
    leaders: list[int] = []
    groups: list[list[str]] = []
    for i, text in enumerate(distinct):
        home = None
        if vectors is not None:
            for g, leader in enumerate(leaders):
                if float(vectors[i] @ vectors[leader]) >= threshold:
                    home = g
                    break
        if home is None:
            leaders.append(i)
            groups.append([text])
        else:
            groups[home].append(text)
    clusters = []
    for group in groups:
        members = [k for k, f in enumerate(folded) if f in set(group)]
        clusters.append(Cluster(representative=first_text[group[0]], members=members, method=method))
    clusters.sort(key=lambda c: -len(c.members))
    return clusters

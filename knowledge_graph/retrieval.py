"""Graph-grounded retrieval of curriculum passages for the tutor.

A student's question is answered from the passages of the curriculum they are
working in. Four steps, each for a reason:

1. **Two retrievers.** A dense index (all-MiniLM-L6-v2 embeddings, cosine)
   understands paraphrase and typos ("bottom number" ~ "denominator"); BM25
   rewards the exact rare term. Each proposes its top passages; the union is
   the candidate set, so neither's blind spot loses a passage.
2. **The concept graph.** The tutor knows which concept the student is on.
   Passages tagged with that concept, or with one a hop or two away
   (``neighbourhood_weights``: ``decay ** hops``), are more likely to be what
   the student means, so the best dense matches inside the neighbourhood join
   the candidates and the graph weight is a feature of every candidate.
   ``RetrievalConfig.restrict_to_neighbourhood`` turns the boost into a filter.
3. **Re-ranking.** Every candidate gets features that mean the same in any
   curriculum (cosine, BM25 as a share of the query's maximum, the mean graph
   weight of its concepts, how fully the question names one of them) plus two
   relative to the other candidates (how far its cosine and its BM25 share are
   below the best candidate's), and a learned model orders them. The relative
   features are what keep a digression answerable: without them, a student on
   one concept asking about a distant one got passages of their own concept,
   because the graph boost outweighed a much better text match.
4. **Calibrated fusion.** That model is a logistic fusion of Platt-calibrated
   signals (``knowledge_graph.fusion``), so ``Hit.score`` is P(relevant): the
   same scale in a 30-passage and a 3,000-passage curriculum, one threshold for
   all, hits from several curricula mergeable by score.

Indexing is separate from querying: ``fit`` takes precomputed passage
embeddings (computed once when a curriculum is imported, with ``index_texts``
giving the exact texts to embed), so building a retriever in a web process
costs no model call; only the query is embedded per search.

Pure: no Django. The dense model is only imported when the retriever has to
embed something and was given no embedder.

>>> import networkx as nx
>>> passages = [Passage("p1", "Add fractions over a common denominator.", ("add",), "demo"),
...             Passage("p2", "Cells are wrapped in a membrane.", ("cell",), "demo")]
>>> class Words:  # a stand-in embedder: one dimension per word
...     vocab = ["add", "fractions", "common", "denominator", "cells", "membrane"]
...     def encode(self, texts, batch_size=64):
...         import numpy as np
...         return np.array([[w in t.lower() for w in self.vocab] for t in texts], dtype=np.float32) + 1e-3
>>> retriever = GraphRetriever(embedder=Words()).fit(passages, nx.DiGraph([("add", "cell")]))
>>> [hit.passage_id for hit in retriever.search("how do i add fractions", concept="add", k=2)]
['p1', 'p2']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import networkx as nx
import numpy as np

from knowledge_graph.bm25 import BM25, tokenize
from knowledge_graph.fusion import FEATURES, ScoreFusion
from knowledge_graph.neighbourhood import neighbourhood_weights


@dataclass(frozen=True)
class Passage:
    """A piece of source text the tutor may ground itself in, tagged with the concepts it teaches."""

    id: str
    text: str
    concepts: tuple[str, ...] = ()
    curriculum: str = ""


@dataclass(frozen=True)
class Hit:
    """One retrieved passage. ``score`` is P(relevant) in [0, 1]; ``signals`` are the features behind it."""

    passage_id: str
    score: float
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelledQuestion:
    """A student question with the passages that answer it, for fitting and evaluating the fusion."""

    text: str
    curriculum: str
    concept: str | None
    relevant: tuple[str, ...]


@dataclass(frozen=True)
class RetrievalConfig:
    """Hyperparameters of ``GraphRetriever``.

    ``n_dense`` / ``n_bm25`` / ``n_graph``: how many candidates each source
    proposes (the best by cosine, by BM25, and by cosine among passages in the
    current concept's neighbourhood). ``radius`` / ``decay``: the
    neighbourhood, as in ``neighbourhood_weights``. ``restrict_to_neighbourhood``:
    only passages of concepts in the neighbourhood are candidates (when there
    are any), instead of being boosted. ``concept_names_in_index``: prefix
    each passage's concept names to the text that is embedded and indexed.
    Off by default: the names already reach the ranking through the graph and
    name-match features, and with them in the text too the cross-validated
    ranking was no better and the fusion learned a negative weight for naming
    a concept (the two signals double-counted). ``fusion_l2``: ridge penalty
    of the fusion fit. ``no_concept_weight``: weight, in the fusion fit, of each question repeated
    without its concept, so the model also learns to rank when the tutor knows
    no concept. ``foreign_weight``: weight of each question asked, without a
    concept, of every other curriculum in the fit, where no passage is
    relevant: this is what teaches the fusion that the best match of a
    curriculum that cannot answer is still a poor match, so that scores from
    different curricula can be compared.
    """

    k1: float = 1.2
    b: float = 0.75
    n_dense: int = 30
    n_bm25: int = 30
    n_graph: int = 10
    radius: int = 2
    decay: float = 0.5
    restrict_to_neighbourhood: bool = False
    concept_names_in_index: bool = False
    fusion_l2: float = 1.0
    no_concept_weight: float = 0.5
    foreign_weight: float = 0.5


class Embedder(Protocol):
    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray: ...


_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_MATH_WORDS = {r"\times": " times ", r"\cdot": " times ", r"\div": " divided by ", r"\le": " <= ", r"\ge": " >= "}
_COMMAND = re.compile(r"\\[A-Za-z]+")


def plain_text(text: str) -> str:
    """Inline maths as a student would type it: ``$2\\frac{3}{5}$`` -> ``2 3/5``, ``\\times`` -> ``times``.

    Both the embedder and BM25 see this form, so "3/4" in a question meets
    ``\\frac{3}{4}`` in a passage, and LaTeX command names are not words.

    >>> plain_text(r"$1\\frac{1}{2} \\times \\frac{8}{3}$ is $4$")
    '1 1/2 times 8/3 is 4'
    """
    text = _FRAC.sub(r" \1/\2", text)
    for command, words in _MATH_WORDS.items():
        text = re.sub(re.escape(command) + r"(?![A-Za-z])", words, text)
    text = _COMMAND.sub(" ", text).replace("$", " ").replace("{", "").replace("}", "")
    return " ".join(text.split())


def index_texts(passages: Sequence[Passage], graph: nx.DiGraph, config: RetrievalConfig | None = None) -> list[str]:
    """The exact texts ``GraphRetriever.fit`` embeds and indexes: embed these when precomputing embeddings."""
    config = config or RetrievalConfig()
    texts = []
    for passage in passages:
        body = plain_text(passage.text)
        if config.concept_names_in_index:
            names = [graph.nodes[c].get("name", "") for c in passage.concepts if c in graph]
            body = ". ".join([*(n for n in names if n), body])
        texts.append(body)
    return texts


class DenseIndex:
    """Cosine similarity of a query to precomputed passage embeddings (rows are L2-normalised on fit).

    Scoring uses ``np.einsum``, numpy's own single-threaded loop, not BLAS:
    a threaded BLAS matrix-vector product over 10,000 x 384 floats took
    0.1 ms on an idle machine but 4-9 ms once other processes kept the cores
    busy (its threads wait for each other), while einsum stays at about
    0.6 ms either way. Exhaustive search is fine at curriculum sizes; an
    approximate index would only pay off far beyond 100,000 passages.
    """

    def fit(self, embeddings: np.ndarray) -> DenseIndex:
        matrix = np.asarray(embeddings, dtype=np.float32)
        if matrix.ndim != 2:
            raise ValueError(f"embeddings must be (n_passages, dim), got shape {matrix.shape}")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self.embeddings_ = np.ascontiguousarray(matrix / np.maximum(norms, 1e-12))
        return self

    def scores(self, query_embedding: np.ndarray) -> np.ndarray:
        query = np.asarray(query_embedding, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.embeddings_.shape[1]:
            raise ValueError(f"query has dimension {query.shape[0]}, the index {self.embeddings_.shape[1]}")
        return np.einsum("ij,j->i", self.embeddings_, query / max(float(np.linalg.norm(query)), 1e-12))


@dataclass(frozen=True)
class Candidates:
    """The passages a query is re-ranked over: their indices, the fusion's feature matrix, the raw BM25."""

    indices: np.ndarray
    features: np.ndarray
    bm25: np.ndarray


def _top(values: np.ndarray, n: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``n`` largest values (unordered), among ``allowed`` positions when given."""
    if allowed is not None:
        values = np.where(allowed, values, -np.inf)
        n = min(n, int(allowed.sum()))
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    if n >= len(values):
        return np.arange(len(values))
    return np.argpartition(-values, n - 1)[:n]


class GraphRetriever:
    """Dense + BM25 candidates, boosted by the concept graph, re-ranked by a calibrated logistic fusion.

    ``fusion`` is a fitted ``ScoreFusion``; by default the one shipped in
    ``knowledge_graph.fusion.DEFAULT_FUSION``, fitted on the demo curricula's
    labelled questions. ``fit_fusion`` refits it on your own questions.
    ``embedder`` embeds queries (and passages, when ``fit`` is given no
    embeddings); by default the process-wide MiniLM from ``models.embeddings``.
    One retriever serves one curriculum version.
    """

    def __init__(
        self,
        config: RetrievalConfig | None = None,
        *,
        embedder: Embedder | None = None,
        fusion: ScoreFusion | None = None,
    ) -> None:
        self.config = config
        self.embedder = embedder
        self.fusion = fusion

    @property
    def _config(self) -> RetrievalConfig:
        return self.config or RetrievalConfig()

    def _embed(self, texts: list[str]) -> np.ndarray:
        embedder = self.embedder
        if embedder is None:
            from models.embeddings import get_embedder

            embedder = get_embedder()
        return embedder.encode(texts)

    def fit(
        self, passages: Iterable[Passage], graph: nx.DiGraph, embeddings: np.ndarray | None = None
    ) -> GraphRetriever:
        """Index ``passages`` (embedding ``index_texts`` unless ``embeddings``, row i for passage i, is given)."""
        config = self._config
        self.passages_ = list(passages)
        self.ids_ = [p.id for p in self.passages_]
        self.position_ = {pid: i for i, pid in enumerate(self.ids_)}
        if len(self.position_) != len(self.ids_):
            raise ValueError("passage ids must be unique")
        texts = index_texts(self.passages_, graph, config)
        self.bm25_ = BM25(config.k1, config.b).fit(texts)
        if embeddings is None:
            embeddings = self._embed(texts) if texts else np.zeros((0, 384), dtype=np.float32)
        if len(embeddings) != len(self.passages_):
            raise ValueError(f"{len(embeddings)} embeddings for {len(self.passages_)} passages")
        self.dense_ = DenseIndex().fit(embeddings)
        self.graph_ = graph
        self._index_concepts(graph)
        self.fusion_ = self.fusion if self.fusion is not None else ScoreFusion.default()
        return self

    def _index_concepts(self, graph: nx.DiGraph) -> None:
        """Passage -> concept positions as flat arrays, so a query's graph weights are two numpy calls."""
        concepts = sorted(set(graph.nodes) | {c for p in self.passages_ for c in p.concepts})
        self.concept_position_ = {c: i for i, c in enumerate(concepts)}
        none = len(concepts)  # a slot whose weight is always 0, for passages without concepts
        flat, starts = [], []
        for passage in self.passages_:
            starts.append(len(flat))
            flat.extend([self.concept_position_[c] for c in passage.concepts] or [none])
        self.passage_concepts_ = np.asarray(flat, dtype=np.int64)
        self.passage_concept_starts_ = np.asarray(starts, dtype=np.int64)
        self.passage_concept_counts_ = np.diff(np.append(self.passage_concept_starts_, len(flat)))
        names = {c: frozenset(tokenize(str(graph.nodes[c].get("name", "")))) for c in graph.nodes}
        self.concept_names_ = [tuple(names[c] for c in p.concepts if names.get(c)) for p in self.passages_]

    def graph_weights(self, concept: str | None) -> np.ndarray:
        """For each passage, the mean neighbourhood weight of its concepts (0 outside the neighbourhood).

        The mean, not the max: it says how much of what a passage teaches lies
        near the student's concept, so a passage tagged with that concept among
        several others counts for less than one about it alone. (With both as
        features, the cross-validated fit gave the max no weight.) All zero
        without a concept, or for one the graph does not know.
        """
        if concept is None or concept not in self.graph_ or not self.passages_:
            return np.zeros(len(self.passages_))
        config = self._config
        weights = np.zeros(len(self.concept_position_) + 1)
        for c, w in neighbourhood_weights(self.graph_, concept, config.radius, decay=config.decay).items():
            weights[self.concept_position_[c]] = w
        per_tag = weights[self.passage_concepts_]
        return np.add.reduceat(per_tag, self.passage_concept_starts_) / self.passage_concept_counts_

    def _name_match(self, query_terms: set[str], index: int) -> float:
        """How fully the question names one of the passage's concepts: max over them of |query & name| / |name|."""
        return max((len(query_terms & name) / len(name) for name in self.concept_names_[index]), default=0.0)

    def candidates(
        self, query: str, concept: str | None = None, *, query_embedding: np.ndarray | None = None
    ) -> Candidates:
        """The union of each source's best passages, with the feature matrix (columns ``fusion.FEATURES``)."""
        config = self._config
        if query_embedding is None:
            query_embedding = self._embed([query])[0]
        dense = self.dense_.scores(query_embedding)
        tokens = tokenize(plain_text(query))
        bm25 = self.bm25_.scores(tokens)
        graph = self.graph_weights(concept)
        has_concept = float(concept is not None and concept in self.graph_)
        allowed = graph > 0 if config.restrict_to_neighbourhood and graph.any() else None
        matched = bm25 > 0 if allowed is None else (bm25 > 0) & allowed
        indices = np.unique(
            np.concatenate(
                [
                    _top(dense, config.n_dense, allowed),
                    _top(bm25, config.n_bm25, matched),
                    _top(dense, config.n_graph, graph > 0),
                ]
            )
        )
        query_terms = set(tokens)
        cosine = dense[indices]
        bm25_share = bm25[indices] / max(self.bm25_.max_score(tokens), 1e-9)
        features = np.column_stack(
            [
                cosine,
                bm25_share,
                cosine.max(initial=-np.inf) - cosine,
                bm25_share.max(initial=0.0) - bm25_share,
                graph[indices],
                np.full(len(indices), has_concept),
                [self._name_match(query_terms, i) for i in indices],
            ]
        )
        return Candidates(indices=indices, features=features, bm25=bm25[indices])

    def search(
        self, query: str, concept: str | None = None, k: int = 5, *, query_embedding: np.ndarray | None = None
    ) -> list[Hit]:
        """The ``k`` passages most likely to answer ``query`` for a student on ``concept``, best first."""
        if k <= 0 or not self.passages_:
            return []
        found = self.candidates(query, concept, query_embedding=query_embedding)
        scores = self.fusion_.score(found.features)
        p_dense, p_bm25 = self.fusion_.signal_probabilities(found.features)
        order = np.argsort(-scores, kind="stable")[:k]
        hits = []
        for j in order:
            signals = {name: float(found.features[j, f]) for f, name in enumerate(FEATURES) if name != "has_concept"}
            signals.update(bm25_raw=float(found.bm25[j]), p_dense=float(p_dense[j]), p_bm25=float(p_bm25[j]))
            hits.append(Hit(self.ids_[found.indices[j]], float(scores[j]), signals))
        return hits

    def passage(self, passage_id: str) -> Passage:
        return self.passages_[self.position_[passage_id]]

    def fit_fusion(
        self, questions: Sequence[LabelledQuestion], *, query_embeddings: np.ndarray | None = None
    ) -> GraphRetriever:
        """Refit the fusion on labelled questions about this retriever's passages; returns self."""
        retrievers = {q.curriculum: self for q in questions}
        self.fusion_ = fit_fusion(questions, retrievers, query_embeddings=query_embeddings, config=self._config)
        return self


def fusion_training_data(
    questions: Sequence[LabelledQuestion],
    retrievers: Mapping[str, GraphRetriever],
    *,
    query_embeddings: np.ndarray | None = None,
    config: RetrievalConfig | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and weights of every candidate of every question, as ``fit_fusion`` uses them.

    Each question is asked three ways: of its curriculum with its concept
    (weight 1), of its curriculum without a concept (``no_concept_weight``),
    and of every other curriculum without a concept, where nothing is relevant
    (``foreign_weight``, shared among those curricula).
    """
    config = config or RetrievalConfig()
    rows, labels, weights = [], [], []
    for i, question in enumerate(questions):
        home = retrievers[question.curriculum]
        embedding = home._embed([question.text])[0] if query_embeddings is None else query_embeddings[i]
        others = [r for r in {id(r): r for r in retrievers.values()}.values() if r is not home]
        asks = [(home, question.concept, 1.0)]
        if question.concept is not None and config.no_concept_weight > 0:
            asks.append((home, None, config.no_concept_weight))
        if others and config.foreign_weight > 0:
            asks += [(other, None, config.foreign_weight / len(others)) for other in others]
        relevant = set(question.relevant)
        for retriever, concept, weight in asks:
            found = retriever.candidates(question.text, concept, query_embedding=embedding)
            rows.append(found.features)
            labels.append([retriever is home and retriever.ids_[j] in relevant for j in found.indices])
            weights.append(np.full(len(found.indices), weight))
    return np.vstack(rows), np.concatenate(labels).astype(np.float64), np.concatenate(weights)


def fit_fusion(
    questions: Sequence[LabelledQuestion],
    retrievers: Mapping[str, GraphRetriever],
    *,
    query_embeddings: np.ndarray | None = None,
    config: RetrievalConfig | None = None,
) -> ScoreFusion:
    """Fit one ``ScoreFusion`` on questions from several curricula (``retrievers`` by curriculum id).

    One fusion for all curricula is the point: fitted on their pooled
    candidates, its probabilities mean the same in each. Pass it to each
    ``GraphRetriever(fusion=...)``, or set ``retriever.fusion_``.
    """
    config = config or RetrievalConfig()
    X, y, w = fusion_training_data(questions, retrievers, query_embeddings=query_embeddings, config=config)
    return ScoreFusion(l2=config.fusion_l2).fit(X, y, sample_weight=w)

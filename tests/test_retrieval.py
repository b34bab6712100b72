"""Graph-grounded retrieval on small synthetic passages and graphs (pure: no database, no model)."""

import inspect
import math
import zlib

import numpy as np
import pytest

from knowledge_graph import build_graph
from knowledge_graph.bm25 import BM25, tokenize
from knowledge_graph.fusion import FEATURES, LogisticRegression, PlattCalibrator, ScoreFusion
from knowledge_graph.retrieval import (
    DenseIndex,
    GraphRetriever,
    LabelledQuestion,
    Passage,
    RetrievalConfig,
    fit_fusion,
    index_texts,
    plain_text,
)


class HashingEmbedder:
    """A deterministic stand-in for MiniLM: stemmed words hashed into 64 dimensions, L2-normalised."""

    dim = 64

    def __init__(self):
        self.calls = 0

    def encode(self, texts, batch_size=64):
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text):
                out[row, zlib.crc32(token.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


# count -> add -> mul -> area -> volume ; cells is not connected to the arithmetic chain.
CONCEPTS = [
    {"id": "count", "name": "Counting"},
    {"id": "add", "name": "Addition", "prerequisites": ["count"]},
    {"id": "mul", "name": "Multiplication", "prerequisites": ["add"]},
    {"id": "area", "name": "Area of rectangles", "prerequisites": ["mul"]},
    {"id": "volume", "name": "Volume of boxes", "prerequisites": ["area"]},
    {"id": "cells", "name": "Cells"},
]

PASSAGES = [
    Passage("p.count", "Counting objects one by one gives how many there are.", ("count",), "arith"),
    Passage("p.add", "Addition puts two groups together; the sum counts every object.", ("add",), "arith"),
    Passage("p.mul", "Multiplication is repeated addition of equal groups.", ("mul",), "arith"),
    Passage("p.area", "The area of a rectangle is its length times its width, in square units.", ("area",), "arith"),
    Passage("p.volume", "The volume of a box is length times width times height.", ("volume",), "arith"),
    Passage("p.cells", "Every living thing is made of cells surrounded by a membrane.", ("cells",), "arith"),
    Passage("p.nucleus", "The nucleus of a cell holds its chromosomes.", ("cells",), "arith"),
]


@pytest.fixture
def graph():
    return build_graph(CONCEPTS)


@pytest.fixture
def retriever(graph):
    return GraphRetriever(embedder=HashingEmbedder()).fit(PASSAGES, graph)


def learned_attributes_end_with_underscore(estimator):
    params = set(inspect.signature(type(estimator).__init__).parameters) - {"self"}
    learned = set(vars(estimator)) - params
    return sorted(name for name in learned if not name.endswith("_") and not name.startswith("_"))


# --- BM25 ----------------------------------------------------------------------------------------------------------


def test_bm25_ranks_the_passage_with_the_exact_term_first():
    texts = [p.text for p in PASSAGES]
    bm25 = BM25().fit(texts)
    scores = bm25.scores("what is a chromosome")
    assert int(np.argmax(scores)) == 6
    assert scores[6] > 0 and np.count_nonzero(scores) == 1


def test_bm25_matches_a_direct_implementation_of_the_formula():
    texts = [p.text for p in PASSAGES] + ["times times times length", ""]
    bm25 = BM25(k1=1.5, b=0.6).fit(texts)
    docs = [tokenize(t) for t in texts]
    avg = sum(map(len, docs)) / len(docs)
    query = "length times width of a rectangle"
    for doc_index, doc in enumerate(docs):
        expected = 0.0
        for term in tokenize(query):
            df = sum(term in d for d in docs)
            tf = doc.count(term)
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            expected += idf * tf * 2.5 / (tf + 1.5 * (1 - 0.6 + 0.6 * len(doc) / avg))
        assert bm25.scores(query)[doc_index] == pytest.approx(expected, rel=1e-5)
    assert bm25.max_score(query) >= bm25.scores(query).max()


def test_bm25_of_an_unknown_word_or_empty_index_is_zero():
    assert BM25().fit(["cells divide"]).scores("zebra").tolist() == [0.0]
    assert BM25().fit([]).scores("cells").shape == (0,)


def test_tokenize_stems_inflections_together_and_drops_stopwords():
    assert tokenize("Why do I need the same denominators?") == tokenize("need same denominator")
    assert tokenize("dividing") == tokenize("divide") == tokenize("divides")


def test_plain_text_turns_latex_fractions_into_what_students_type():
    assert plain_text(r"$\frac{3}{4} + \frac{1}{8}$") == "3/4 + 1/8"
    assert plain_text(r"$2\frac{3}{5}$ and $3 \times 4 = 12$") == "2 3/5 and 3 times 4 = 12"


# --- graph ---------------------------------------------------------------------------------------------------------


def test_graph_boost_lifts_the_current_concepts_passage_above_an_equal_match_far_away(graph):
    same_text = "Worked example: read the question twice, then check the answer."
    passages = [*PASSAGES, Passage("near", same_text, ("add",)), Passage("far", same_text, ("volume",))]
    retriever = GraphRetriever(embedder=HashingEmbedder()).fit(passages, graph)  # only the graph tells them apart
    for concept, expected_first in (("add", "near"), ("volume", "far")):
        hits = retriever.search("check the answer of a worked example", concept=concept, k=3)
        ranked = [h.passage_id for h in hits]
        assert ranked[0] == expected_first
        assert hits[0].score > hits[1].score
        assert hits[0].signals["dense"] == pytest.approx(hits[1].signals["dense"], abs=1e-6)
    assert retriever.graph_weights("add")[retriever.position_["far"]] == 0.0  # volume is three hops from add


def test_graph_weights_follow_hops_and_ignore_unknown_concepts(retriever, graph):
    weights = dict(zip(retriever.ids_, retriever.graph_weights("mul"), strict=True))
    assert weights["p.mul"] == 1.0 and weights["p.add"] == 0.5 and weights["p.area"] == 0.5
    assert weights["p.count"] == 0.25 and weights["p.cells"] == 0.0
    two_tags = GraphRetriever(embedder=HashingEmbedder()).fit([Passage("both", "x", ("mul", "cells"))], graph)
    assert two_tags.graph_weights("mul").tolist() == [0.5]  # the mean over its concepts
    assert not retriever.graph_weights("no-such-concept").any()
    assert retriever.search("membrane", concept="no-such-concept")[0].passage_id == "p.cells"


def test_restricting_to_the_neighbourhood_keeps_only_nearby_passages(graph):
    config = RetrievalConfig(restrict_to_neighbourhood=True)
    retriever = GraphRetriever(config, embedder=HashingEmbedder()).fit(PASSAGES, graph)
    ids = {h.passage_id for h in retriever.search("cells membrane nucleus", concept="add", k=10)}
    assert ids <= {"p.count", "p.add", "p.mul", "p.area"}
    assert retriever.search("cells membrane", concept=None, k=1)[0].passage_id == "p.cells"


# --- scores --------------------------------------------------------------------------------------------------------


def test_scores_are_probabilities_sorted_best_first(retriever):
    hits = retriever.search("how do i find the area of a rectangle", concept="area", k=5)
    assert [h.passage_id for h in hits][0] == "p.area"
    scores = [h.score for h in hits]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    expected = {"dense", "bm25", "dense_gap", "bm25_gap", "graph", "name_match", "p_dense", "p_bm25", "bm25_raw"}
    assert expected <= set(hits[0].signals)


def test_the_same_relevant_passage_scores_alike_in_a_small_and_a_large_curriculum(graph):
    """Calibration across curricula: 40 unrelated passages change raw BM25, not the fused probability."""
    topics = ["rivers", "volcanoes", "poems", "planets", "maps", "music", "weather", "tigers"]
    extra = [
        Passage(f"x{i}", f"Notes {i} on {topics[i % 8]} and {topics[(i + 3) % 8]}, with a short story.", ("cells",))
        for i in range(40)
    ]
    small = GraphRetriever(embedder=HashingEmbedder()).fit(PASSAGES, graph)
    large = GraphRetriever(embedder=HashingEmbedder()).fit(PASSAGES + extra, graph)
    query = "length times width of a rectangle"
    hit_small = small.search(query, concept="area", k=1)[0]
    hit_large = large.search(query, concept="area", k=1)[0]
    assert hit_small.passage_id == hit_large.passage_id == "p.area"
    assert hit_large.signals["bm25_raw"] > 1.2 * hit_small.signals["bm25_raw"]  # raw BM25 is not comparable
    assert abs(hit_small.score - hit_large.score) < 0.05  # the calibrated score is


def test_no_concept_and_empty_corpus_work(graph):
    retriever = GraphRetriever(embedder=HashingEmbedder()).fit(PASSAGES, graph)
    assert retriever.search("membrane", k=1)[0].passage_id == "p.cells"
    assert retriever.search("membrane", k=0) == []
    empty = GraphRetriever(embedder=HashingEmbedder()).fit([], graph, embeddings=np.zeros((0, 64)))
    assert empty.search("membrane") == []


# --- indexing ------------------------------------------------------------------------------------------------------


def test_precomputed_embeddings_are_used_and_the_query_alone_is_embedded(graph):
    embedder = HashingEmbedder()
    embeddings = HashingEmbedder().encode(index_texts(PASSAGES, graph))
    retriever = GraphRetriever(embedder=embedder).fit(PASSAGES, graph, embeddings=embeddings)
    assert embedder.calls == 0
    retriever.search("volume of a box", concept="volume")
    assert embedder.calls == 1
    retriever.search("volume of a box", concept="volume", query_embedding=embedder.encode(["volume of a box"])[0])
    assert embedder.calls == 2


def test_index_texts_are_plain_text_optionally_led_by_concept_names(graph):
    passage = Passage("p", r"Half of $\frac{1}{2}$ is a quarter.", ("count",))
    assert index_texts([passage], graph) == ["Half of 1/2 is a quarter."]
    with_names = index_texts([passage], graph, RetrievalConfig(concept_names_in_index=True))
    assert with_names == ["Counting. Half of 1/2 is a quarter."]


def test_bad_inputs_are_refused(graph):
    with pytest.raises(ValueError, match="unique"):
        GraphRetriever(embedder=HashingEmbedder()).fit([PASSAGES[0], PASSAGES[0]], graph)
    with pytest.raises(ValueError, match="embeddings for"):
        GraphRetriever(embedder=HashingEmbedder()).fit(PASSAGES, graph, embeddings=np.ones((2, 64)))
    index = DenseIndex().fit(np.eye(3))
    with pytest.raises(ValueError, match="dimension"):
        index.scores(np.ones(4))


# --- fitting -------------------------------------------------------------------------------------------------------

QUESTIONS = [
    LabelledQuestion("how many things are there if i count them", "arith", "count", ("p.count",)),
    LabelledQuestion("what is the sum when you put groups together", "arith", "add", ("p.add",)),
    LabelledQuestion("why is times the same as adding equal groups", "arith", "mul", ("p.mul",)),
    LabelledQuestion("area of a rectangle length width", "arith", "area", ("p.area",)),
    LabelledQuestion("how big is a box length width height", "arith", "volume", ("p.volume",)),
    LabelledQuestion("what surrounds a cell", "arith", "cells", ("p.cells",)),
    LabelledQuestion("where are the chromosomes", "arith", "cells", ("p.nucleus",)),
    LabelledQuestion("square units for a rectangle", "arith", "mul", ("p.area",)),
]


def test_fit_returns_self_and_learned_attributes_end_with_underscore(graph):
    retriever = GraphRetriever(embedder=HashingEmbedder())
    assert retriever.fit(PASSAGES, graph) is retriever
    assert retriever.fit_fusion(QUESTIONS) is retriever
    bm25 = BM25()
    assert bm25.fit(["a b", "c"]) is bm25
    index = DenseIndex()
    assert index.fit(np.eye(2)) is index
    X = np.random.default_rng(0).normal(size=(40, 1))
    y = (X[:, 0] > 0).astype(float)
    logistic, platt = LogisticRegression(), PlattCalibrator()
    assert logistic.fit(X, y) is logistic and platt.fit(X[:, 0], y) is platt
    for estimator in (retriever, bm25, index, logistic, platt, retriever.fusion_):
        assert learned_attributes_end_with_underscore(estimator) == [], type(estimator).__name__
    assert not hasattr(GraphRetriever(), "fusion_")  # nothing learned before fit


def test_fitted_fusion_ranks_the_labelled_passages_and_is_calibrated_on_them(graph):
    retriever = GraphRetriever(embedder=HashingEmbedder()).fit(PASSAGES, graph).fit_fusion(QUESTIONS)
    for question in QUESTIONS:
        assert retriever.search(question.text, question.concept, k=2)[0].passage_id in question.relevant
    # Log-loss fits match the base rate: mean predicted probability = share of relevant candidates (with concepts).
    features, labels = [], []
    for question in QUESTIONS:
        found = retriever.candidates(question.text, question.concept)
        features.append(found.features)
        labels += [retriever.ids_[i] in question.relevant for i in found.indices]
    predicted = retriever.fusion_.score(np.vstack(features))
    assert predicted.mean() == pytest.approx(np.mean(labels), abs=0.05)


def test_one_fusion_fitted_across_two_curricula(graph):
    other = [Passage(p.id, p.text, p.concepts, "copy") for p in PASSAGES[:4]]
    retrievers = {
        "arith": GraphRetriever(embedder=HashingEmbedder()).fit(PASSAGES, graph),
        "copy": GraphRetriever(embedder=HashingEmbedder()).fit(other, graph),
    }
    questions = QUESTIONS + [LabelledQuestion(q.text, "copy", q.concept, q.relevant) for q in QUESTIONS[:4]]
    fusion = fit_fusion(questions, retrievers)
    assert isinstance(fusion, ScoreFusion)
    restored = ScoreFusion.from_dict(fusion.to_dict())
    X = np.random.default_rng(1).uniform(size=(5, len(FEATURES)))
    assert np.allclose(restored.score(X), fusion.score(X))


def test_logistic_regression_reaches_the_penalised_optimum():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3)) * [1.0, 10.0, 0.1]
    y = (rng.uniform(size=300) < 1 / (1 + np.exp(-(X @ [1.0, -0.2, 5.0] + 0.3)))).astype(float)
    model = LogisticRegression(l2=0.0).fit(X, y)
    p = model.predict_proba(X)
    gradient = np.hstack([np.ones((300, 1)), X]).T @ (p - y)
    assert np.abs(gradient).max() < 1e-6
    assert model.coef_[0] == pytest.approx(1.0, abs=0.5)


def test_default_fusion_prefers_stronger_evidence_on_every_signal():
    fusion = ScoreFusion.default()
    base = dict(dense=0.4, bm25=0.2, dense_gap=0.2, bm25_gap=0.2, graph=0.0, has_concept=1, name_match=0)
    row = np.array([[base[name] for name in FEATURES]])
    changes = {"dense": 0.3, "bm25": 0.3, "dense_gap": -0.1, "bm25_gap": -0.1, "graph": 0.5, "name_match": 0.5}
    for name, better in changes.items():
        stronger = row.copy()
        stronger[0, FEATURES.index(name)] += better
        assert fusion.score(stronger)[0] > fusion.score(row)[0], name

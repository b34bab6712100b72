"""Retrieval quality and latency of graph-grounded retrieval on the demo curricula.

    .venv/bin/python bench/retrieval.py [--folds 5] [--threads 1] [--passages 10000] [--fit-defaults]

Quality
-------
Loads the passages of ``tutor/curricula/demo/*.yaml`` and the labelled student
questions of ``bench/data/retrieval_questions.yaml`` (each: curriculum, the
concept the student is on, the passages that answer it), embeds both once with
the real all-MiniLM-L6-v2, and ranks each curriculum's passages three ways:

- ``dense``: cosine to the question only;
- ``bm25``: BM25 only;
- ``full``: ``GraphRetriever.search`` with the student's concept: dense + BM25
  candidates, graph neighbourhood, learned calibrated fusion.

Nothing fitted is scored on a question it was fitted on: the fusion is refitted
inside a k-fold cross-validation (``--folds``, shuffled with a fixed seed, the
folds mixing both curricula) and each question is ranked by the fusion of the
folds that did not contain it. ``full_no_concept`` is the same without the
concept. Metrics: ``recall@5`` (share of a question's relevant passages in the
top 5, averaged), ``hit@5`` (at least one in the top 5), ``mrr`` (1 / rank of
the first relevant passage).

Two more views of the full pipeline, same folds:

- ``full_off_neighbourhood``: every question asked as if the student were on
  a concept more than ``radius`` hops from all of its answers (a random one,
  fixed seed): a stress test of the graph boost, which must not bury a good
  text match when a student digresses. (About 15% of the labelled questions
  are such digressions already.)
- ``calibration``: Brier score and expected calibration error (ten bins) over
  every cross-validated candidate score; the mean top-1 score in the
  question's curriculum and in the other curriculum (which cannot answer),
  how often the other curriculum's top hit scores above 0.5, and
  ``merged_curricula_hit@1``: with the hits of both curricula merged by
  score, how often the first is a relevant passage of the right curriculum.
  These are what "scores comparable across curricula" means in practice.

Latency
-------
A ``--passages``-passage index: the demo passages plus synthetic ones made by
recombining 3-5 demo sentences, tagged with synthetic concepts of a synthetic
prerequisite graph (1,000 concepts, joined to the demo concepts). Synthetic
passages are embedded as the normalised mean of their sentences' MiniLM
embeddings (each distinct sentence embedded once) rather than one by one: the
values only have to look like embeddings for the timing, and this keeps the
run short on a small CPU. Then every question is searched three times (after
a warm-up) with its concept, query embedding included, and p50/p95 are
reported. Torch runs with ``--threads`` intra-op threads (default 1: see
``models.embeddings`` on why a serving process should use one).

``--fit-defaults`` instead fits the fusion on every question and prints the
``DEFAULT_FUSION`` to paste into ``knowledge_graph/fusion.py``.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge_graph import build_graph, neighbourhood  # noqa: E402
from knowledge_graph.bm25 import tokenize  # noqa: E402
from knowledge_graph.retrieval import (  # noqa: E402
    GraphRetriever,
    LabelledQuestion,
    Passage,
    RetrievalConfig,
    fit_fusion,
    index_texts,
    plain_text,
)

DEMO_DIR = ROOT / "tutor" / "curricula" / "demo"
QUESTIONS = ROOT / "bench" / "data" / "retrieval_questions.yaml"
K = 5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_curriculum(path: Path) -> tuple[str, list[Passage], nx.DiGraph]:
    doc = yaml.safe_load(path.read_text())
    concepts = doc["concepts"]
    related = [(c["id"], other) for c in concepts for other in c.get("related", [])]
    graph = build_graph(concepts, related=related)
    passages = [Passage(p["id"], p["text"], tuple(p.get("concepts", [])), doc["id"]) for p in doc.get("passages", [])]
    return doc["id"], passages, graph


def load_questions(path: Path, curricula: dict) -> list[LabelledQuestion]:
    questions = []
    for n, item in enumerate(yaml.safe_load(path.read_text())["questions"]):
        curriculum = item["curriculum"]
        _, passages, graph = curricula[curriculum]
        ids = {p.id for p in passages}
        unknown = [pid for pid in item["relevant"] if pid not in ids]
        if unknown or item["concept"] not in graph:
            raise SystemExit(f"question {n} ({item['q']!r}): unknown passage {unknown} or concept {item['concept']}")
        questions.append(LabelledQuestion(item["q"], curriculum, item["concept"], tuple(item["relevant"])))
    return questions


def metrics(rankings: list[list[str]], questions: list[LabelledQuestion]) -> dict[str, float]:
    recall, hit, rr = [], [], []
    for ranked, question in zip(rankings, questions, strict=True):
        relevant = set(question.relevant)
        top = ranked[:K]
        recall.append(len(relevant & set(top)) / len(relevant))
        hit.append(float(bool(relevant & set(top))))
        rank = next((i + 1 for i, pid in enumerate(ranked) if pid in relevant), None)
        rr.append(1.0 / rank if rank else 0.0)
    return {
        "recall@5": round(statistics.mean(recall), 4),
        "hit@5": round(statistics.mean(hit), 4),
        "mrr": round(statistics.mean(rr), 4),
    }


def rank_by(scores: np.ndarray, retriever: GraphRetriever) -> list[str]:
    return [retriever.ids_[i] for i in np.argsort(-scores, kind="stable")]


def calibration(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, float]:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(scores, edges) - 1, 0, bins - 1)
    ece = sum(
        abs(scores[which == b].mean() - labels[which == b].mean()) * (which == b).mean()
        for b in range(bins)
        if (which == b).any()
    )
    return {"brier": round(float(np.mean((scores - labels) ** 2)), 4), "ece": round(float(ece), 4)}


def folds_of(n: int, k: int, seed: int = 2026) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::k] for i in range(k)]


def off_neighbourhood_concepts(curricula, questions, radius: int, seed: int = 11) -> list[str | None]:
    """For each question, a concept of its curriculum farther than ``radius`` hops from every answer's concepts."""
    rng = random.Random(seed)
    chosen = []
    for question in questions:
        _, passages, graph = curricula[question.curriculum]
        tags = {c for p in passages if p.id in question.relevant for c in p.concepts if c in graph}
        near = set().union(*(neighbourhood(graph, t, radius=radius) for t in tags))
        far = sorted(set(graph.nodes) - near)
        chosen.append(rng.choice(far) if far else None)
    return chosen


def evaluate(curricula, retrievers, questions, embeddings, n_folds, config) -> dict:
    dense, bm25 = [], []
    for question, embedding in zip(questions, embeddings, strict=True):
        retriever = retrievers[question.curriculum]
        dense.append(rank_by(retriever.dense_.scores(embedding), retriever))
        bm25.append(rank_by(retriever.bm25_.scores(tokenize(plain_text(question.text))), retriever))
    far_concepts = off_neighbourhood_concepts(curricula, questions, config.radius)
    n = len(questions)
    full, bare, far = [None] * n, [None] * n, [None] * n
    pooled_scores, pooled_labels, home_top, other_top, merged = [], [], [], [], []
    for f, test in enumerate(folds_of(n, n_folds)):
        train = np.setdiff1d(np.arange(n), test)
        fusion = fit_fusion(
            [questions[i] for i in train], retrievers, query_embeddings=embeddings[train], config=config
        )
        log(f"  fold {f + 1}/{n_folds}: fitted on {len(train)} questions, testing {len(test)}")
        for retriever in retrievers.values():
            retriever.fusion_ = fusion
        for i in test:
            question, retriever, embedding = questions[i], retrievers[questions[i].curriculum], embeddings[i]
            every = len(retriever.ids_)
            hits = retriever.search(question.text, question.concept, k=every, query_embedding=embedding)
            full[i] = [h.passage_id for h in hits]
            pooled_scores += [h.score for h in hits]
            pooled_labels += [h.passage_id in question.relevant for h in hits]
            bare[i] = [h.passage_id for h in retriever.search(question.text, None, k=every, query_embedding=embedding)]
            if far_concepts[i] is not None:
                far_hits = retriever.search(question.text, far_concepts[i], k=every, query_embedding=embedding)
                far[i] = [h.passage_id for h in far_hits]
            foreign = [
                other.search(question.text, None, k=1, query_embedding=embedding)[0]
                for cid, other in retrievers.items()
                if cid != question.curriculum and other.ids_
            ]
            home_top.append(hits[0].score)
            other_top += [h.score for h in foreign]
            best = max([hits[0], *foreign], key=lambda h: h.score)
            merged.append(best is hits[0] and best.passage_id in question.relevant)
    for retriever in retrievers.values():
        retriever.fusion_ = retriever.fusion or retriever.fusion_.default()
    kept = [i for i in range(n) if far[i] is not None]
    calib = calibration(np.array(pooled_scores), np.array(pooled_labels, dtype=float))
    calib.update(
        {
            "mean_top1_score_home": round(statistics.mean(home_top), 3),
            "mean_top1_score_other_curriculum": round(statistics.mean(other_top), 3),
            "other_curriculum_top1_above_0.5": round(float(np.mean(np.array(other_top) > 0.5)), 3),
            "merged_curricula_hit@1": round(statistics.mean(merged), 4),
        }
    )
    return {
        "dense": metrics(dense, questions),
        "bm25": metrics(bm25, questions),
        "full": metrics(full, questions),
        "full_no_concept": metrics(bare, questions),
        "full_off_neighbourhood": metrics([far[i] for i in kept], [questions[i] for i in kept]),
        "calibration": calib,
        "per_curriculum": {
            c: {
                name: metrics(
                    [r for r, q in zip(ranks, questions, strict=True) if q.curriculum == c],
                    [q for q in questions if q.curriculum == c],
                )
                for name, ranks in (("dense", dense), ("bm25", bm25), ("full", full))
            }
            for c in curricula
        },
    }


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", plain_text(text)) if len(s) > 12]


def synthetic_index(curricula, embedder, n_passages: int, seed: int = 7):
    """Demo passages plus recombined ones on a synthetic graph joined to the demo graphs, with embeddings."""
    rng = random.Random(seed)
    graph = nx.DiGraph(related=[])
    passages: list[Passage] = []
    for _, demo_passages, demo_graph in curricula.values():
        graph = nx.compose(graph, demo_graph)
        graph.graph["related"] = graph.graph.get("related", []) + demo_graph.graph.get("related", [])
        passages += demo_passages
    demo_concepts = sorted(graph.nodes)
    sentences = sorted({s for p in passages for s in split_sentences(p.text)})
    words = sorted({w for s in sentences for w in re.findall(r"[a-z]{5,}", s.lower())})
    synthetic_concepts = [f"syn.{i}" for i in range(1000)]
    for i, concept in enumerate(synthetic_concepts):
        graph.add_node(concept, name=" ".join(rng.sample(words, 2)).capitalize())
        for parent in rng.sample(synthetic_concepts[max(0, i - 30) : i], min(i, rng.randint(1, 2))):
            graph.add_edge(parent, concept, kind="prerequisite", group=None)
    for concept in demo_concepts:
        for child in rng.sample(synthetic_concepts, 2):
            graph.add_edge(concept, child, kind="prerequisite", group=None)
    log(f"  embedding {len(sentences)} distinct sentences and {len(passages)} demo passages")
    sentence_vectors = dict(zip(sentences, embedder.encode(sentences), strict=True))
    vectors = [embedder.encode(index_texts(passages, graph))]
    made = []
    while len(passages) + len(made) < n_passages:
        chosen = rng.sample(sentences, rng.randint(3, 5))
        tags = rng.sample(synthetic_concepts, rng.randint(1, 2))
        if rng.random() < 0.1:
            tags.append(rng.choice(demo_concepts))
        made.append(Passage(f"syn.p{len(made)}", " ".join(chosen), tuple(tags), "synthetic"))
        mean = np.mean([sentence_vectors[s] for s in chosen], axis=0)
        vectors.append((mean / np.linalg.norm(mean))[None, :])
    return passages + made, graph, np.vstack(vectors).astype(np.float32)


def latency(curricula, embedder, questions, n_passages: int, config) -> dict:
    """p50/p95 of ``search`` with the query embedding included: wall clock (the target) and this thread's CPU time.

    The CPU time is what a search costs on an idle core; wall clock minus CPU
    time is waiting for a core that other processes hold, so both are reported
    with the load average, and a loaded machine shows as the gap between them.
    """
    passages, graph, embeddings = synthetic_index(curricula, embedder, n_passages)
    start = time.perf_counter()
    retriever = GraphRetriever(config, embedder=embedder).fit(passages, graph, embeddings=embeddings)
    build_s = time.perf_counter() - start
    log(f"  indexed {len(passages)} passages in {build_s:.2f} s; timing {3 * len(questions)} searches")
    for question in questions[:10]:
        retriever.search(question.text, question.concept)
    load_before = os.getloadavg()[0]
    wall, cpu, embed = [], [], []
    for _ in range(3):
        for question in questions:
            w0, c0 = time.perf_counter(), time.thread_time()
            retriever.search(question.text, question.concept, k=K)
            wall.append((time.perf_counter() - w0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
    for question in questions:
        w0 = time.perf_counter()
        embedder.encode([question.text])
        embed.append((time.perf_counter() - w0) * 1000)

    def pct(values, q):
        return round(float(np.percentile(values, q)), 2)

    return {
        "passages": len(passages),
        "concepts": graph.number_of_nodes(),
        "searches": len(wall),
        "p50": pct(wall, 50),
        "p95": pct(wall, 95),
        "max": round(float(np.max(wall)), 2),
        "cpu_p50": pct(cpu, 50),
        "cpu_p95": pct(cpu, 95),
        "query_embedding_p50": pct(embed, 50),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cores": os.cpu_count(),
        "index_build_s": round(build_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: leave torch's default)")
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--fit-defaults", action="store_true", help="print DEFAULT_FUSION fitted on all questions")
    args = parser.parse_args()

    import torch

    from models.embeddings import get_embedder

    if args.threads:
        torch.set_num_threads(args.threads)
    config = RetrievalConfig()
    log("loading the demo curricula and the questions")
    curricula = {}
    for path in sorted(DEMO_DIR.glob("*.yaml")):
        cid, passages, graph = load_curriculum(path)
        curricula[cid] = (cid, passages, graph)
        log(f"  {cid}: {len(passages)} passages, {graph.number_of_nodes()} concepts")
    questions = load_questions(QUESTIONS, curricula)
    log(f"  {len(questions)} questions")
    embedder = get_embedder()
    log("embedding passages and questions with all-MiniLM-L6-v2")
    retrievers = {}
    for cid, passages, graph in curricula.values():
        embeddings = embedder.encode(index_texts(passages, graph, config))
        retrievers[cid] = GraphRetriever(config, embedder=embedder).fit(passages, graph, embeddings=embeddings)
    query_embeddings = embedder.encode([q.text for q in questions])

    if args.fit_defaults:
        fusion = fit_fusion(questions, retrievers, query_embeddings=query_embeddings, config=config)
        print(json.dumps(fusion.to_dict()))
        return

    log(f"quality: dense, bm25 and the full pipeline ({args.folds}-fold cross-validation for the fusion)")
    quality = evaluate(curricula, retrievers, questions, query_embeddings, args.folds, config)
    log(f"latency: full pipeline on {args.passages} passages")
    timing = latency(curricula, embedder, questions, args.passages, config)
    full, dense, bm25 = quality["full"], quality["dense"], quality["bm25"]
    result = {
        "benchmark": "retrieval",
        "questions": len(questions),
        "curricula": {cid: len(passages) for cid, passages, _ in curricula.values()},
        "folds": args.folds,
        **quality,
        "latency_ms": timing,
        "torch_threads": torch.get_num_threads(),
        "targets": {
            "full_beats_both": all(full[m] > max(dense[m], bm25[m]) for m in ("recall@5", "mrr")),
            "recall@5>=0.9": full["recall@5"] >= 0.9,
            "p95<30ms": timing["p95"] < 30,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

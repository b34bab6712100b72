"""Passage indexing and graph-grounded retrieval, on top of the pure library.

``curriculum_index_passages()`` embeds a curriculum's passages with MiniLM
and stores the vectors (idempotent: only missing or changed texts are
embedded). ``curriculum_import()`` enqueues it after commit: on Celery when
turns run there, else right away in the importing process.

``retriever_for()`` builds a ``knowledge_graph.retrieval.GraphRetriever`` for
a curriculum version from the stored vectors (no model call) and caches it
in the process, keyed by the version and how many of its passages have
vectors, so it is rebuilt once when background indexing finishes.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache

import numpy as np
from django.conf import settings

from knowledge_graph.retrieval import GraphRetriever, Hit, Passage, index_texts
from tutor.curricula.concept_graph import concept_graph
from tutor.curricula.models import Curriculum, PassageEmbedding

log = logging.getLogger(__name__)


def _graph_and_passages(curriculum: Curriculum):
    graph = concept_graph(curriculum)
    rows = list(curriculum.passages.prefetch_related("concepts").order_by("key"))
    passages = [Passage(p.key, p.text, tuple(sorted(c.key for c in p.concepts.all())), curriculum.slug) for p in rows]
    return graph, passages, rows


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def curriculum_index_passages(curriculum_id: int) -> int:
    """Embed the curriculum's passages that have no current vector; return how many."""
    from models.embeddings import MODEL_NAME, get_embedder

    curriculum = Curriculum.objects.get(pk=curriculum_id)
    graph, passages, rows = _graph_and_passages(curriculum)
    texts = index_texts(passages, graph)
    current = {e.passage_id: e for e in PassageEmbedding.objects.filter(passage__curriculum=curriculum)}
    todo = [
        (row, text)
        for row, text in zip(rows, texts, strict=True)
        if row.pk not in current
        or current[row.pk].text_sha256 != _sha(text)
        or current[row.pk].model_name != MODEL_NAME
    ]
    if not todo:
        return 0
    vectors = get_embedder().encode([text for _, text in todo]).astype("<f4")
    PassageEmbedding.objects.filter(passage__in=[row for row, _ in todo]).delete()
    PassageEmbedding.objects.bulk_create(
        PassageEmbedding(passage=row, model_name=MODEL_NAME, text_sha256=_sha(text), vector=vector.tobytes())
        for (row, text), vector in zip(todo, vectors, strict=True)
    )
    return len(todo)


def passage_index_enqueue(curriculum_id: int) -> None:
    """Index after an import commits: on Celery when it runs turns, else now."""
    mode = settings.INDEX_PASSAGES
    if mode == "off":
        return
    if mode == "celery":
        from tutor.curricula.tasks import index_passages

        index_passages.delay(curriculum_id)
        return
    try:
        curriculum_index_passages(curriculum_id)
    except Exception:  # a failed index must not undo a committed import; retrieval falls back to BM25
        log.exception("indexing passages of curriculum %s failed", curriculum_id)


@lru_cache(maxsize=32)
def retriever_for(curriculum_id: int, created_at, embedded: int) -> GraphRetriever:
    """The retriever of a curriculum version, cached by what it is built from.

    ``created_at`` guards against an id reused after a rollback; ``embedded``
    (how many passages have vectors) rebuilds it once background indexing
    lands, instead of serving BM25-only results for the life of the process.
    """
    curriculum = Curriculum.objects.get(pk=curriculum_id)
    graph, passages, rows = _graph_and_passages(curriculum)
    stored = {e.passage_id: e.vector for e in PassageEmbedding.objects.filter(passage__curriculum=curriculum)}
    embeddings = None
    if passages and all(row.pk in stored for row in rows):
        embeddings = np.stack([np.frombuffer(bytes(stored[row.pk]), dtype="<f4") for row in rows])
    return GraphRetriever().fit(passages, graph, embeddings=embeddings)


def passages_for(curriculum: Curriculum, query: str, concept: str | None = None, k: int = 5) -> list[Hit]:
    """The passages that best ground an answer to ``query`` near ``concept``."""
    if not curriculum.passages.exists():
        return []
    embedded = PassageEmbedding.objects.filter(passage__curriculum=curriculum).count()
    return retriever_for(curriculum.pk, curriculum.created_at, embedded).search(query, concept=concept, k=k)

"""Passage embeddings at import, and graph-grounded retrieval over them."""

import json

import numpy as np

from tests.conftest import TEST_DATA
from tutor.curricula.importer import curriculum_import
from tutor.curricula.indexing import curriculum_index_passages, passages_for, retriever_for
from tutor.curricula.models import PassageEmbedding

DOC = json.loads((TEST_DATA / "mini-fractions.json").read_text())


def with_passages(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["passages"] += [
        {"id": "p.equivalent", "concepts": ["frac.equivalent"], "text": "Multiplying the top and bottom of a fraction "
         "by the same number gives an equivalent fraction: 3/4 = 6/8."},
        {"id": "p.lcd", "concepts": ["frac.lcd"], "text": "The least common denominator is the smallest number that "
         "every denominator divides into, such as 8 for fourths and eighths."},
    ]  # fmt: skip
    return doc


def test_import_embeds_every_passage_after_commit(db, django_capture_on_commit_callbacks, settings):
    settings.INDEX_PASSAGES = "sync"
    with django_capture_on_commit_callbacks(execute=True):
        curriculum = curriculum_import(with_passages(DOC)).curriculum
    vectors = PassageEmbedding.objects.filter(passage__curriculum=curriculum)
    assert vectors.count() == 3
    v = np.frombuffer(bytes(vectors.first().vector), dtype="<f4")
    assert v.shape == (384,) and abs(float(np.linalg.norm(v)) - 1) < 1e-3


def test_indexing_again_embeds_nothing_new(db, settings):
    settings.INDEX_PASSAGES = "off"
    curriculum = curriculum_import(with_passages(DOC)).curriculum
    assert curriculum_index_passages(curriculum.pk) == 3
    assert curriculum_index_passages(curriculum.pk) == 0


def test_retrieval_finds_the_passage_that_answers_the_question(db, settings):
    settings.INDEX_PASSAGES = "off"
    curriculum = curriculum_import(with_passages(DOC)).curriculum
    curriculum_index_passages(curriculum.pk)
    retriever_for.cache_clear()
    hits = passages_for(curriculum, "what is the smallest number both denominators go into?", concept="frac.add-unlike")
    assert hits[0].passage_id == "p.lcd"
    assert 0.0 <= hits[-1].score <= hits[0].score <= 1.0


def test_curriculum_without_passages_retrieves_nothing(db, settings):
    settings.INDEX_PASSAGES = "off"
    doc = json.loads(json.dumps(DOC))
    doc["passages"] = []
    assert passages_for(curriculum_import(doc).curriculum, "anything") == []

"""The Django side of the tutor pipeline: which backend speaks, and its grounding.

``tutor/agents`` is pure and takes its collaborators as arguments; this
module builds them once per process from settings:

- ``verbaliser()``: the backend named by ``TUTOR_BACKEND`` (scripted, local
  or openai), built lazily, so a web process that never runs a turn never
  loads a model;
- ``text_similarity()``: the MiniLM similarity the checker uses for short
  text answers, or None for lexical matching only;
- ``intent_reader()``: the learned intent fallback on the same MiniLM;
- ``passage_lookup()``: grounding passages for a topic question, from the
  curriculum's graph-aware retriever, near the problem's first concept.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings

from tutor.agents.backends import Verbaliser
from tutor.agents.problem import ProblemKey
from tutor.curricula.models import Curriculum


@functools.cache
def verbaliser() -> Verbaliser:
    from tutor.agents.llm import make_backend

    return make_backend(settings.TUTOR_BACKEND, settings.TUTOR_BACKEND_OPTIONS)


def text_similarity():
    if settings.TUTOR_TEXT_SIMILARITY != "embeddings":
        return None
    from tutor.dialogue.answers import default_similarity

    return default_similarity()


@functools.cache
def _intents():
    from tutor.agents.intent_model import EmbeddedIntents

    return EmbeddedIntents(text_similarity())  # its cache: the checker's vector of the same text is reused


def intent_reader():
    """The learned intent fallback (same MiniLM as the text checker), or None in lexical mode."""
    if settings.TUTOR_TEXT_SIMILARITY != "embeddings":
        return None
    return _intents()


def passage_lookup(curriculum: Curriculum, key: ProblemKey, k: int = 2) -> Callable[[str], list[str]]:
    """A function from a question to the texts of the best grounding passages."""

    def lookup(question: str) -> list[str]:
        from tutor.curricula.indexing import passages_for

        concept = key.concepts[0] if key.concepts else None
        hits = passages_for(curriculum, question, concept=concept, k=k)
        texts = dict(curriculum.passages.filter(key__in=[h.passage_id for h in hits]).values_list("key", "text"))
        return [texts[h.passage_id] for h in hits if h.passage_id in texts]

    return lookup


def warm_up_in_background() -> None:
    """Load MiniLM and the intent model on a daemon thread, so no student waits for it.

    Loading takes a few seconds; without this, the first free-text answer
    or chat message a process sees pays for it inside a turn. Called where
    turns run: the web process in the embedded mode, each Celery worker
    process in the distributed mode. Does nothing in the lexical mode.
    """
    import threading

    if settings.TUTOR_TEXT_SIMILARITY != "embeddings" or not settings.TUTOR_WARM_UP:
        return
    # The imports happen here, before the thread starts: while one thread is inside transformers'
    # lazy imports, another that imports from it (a turn loading the tutor model) can fail with
    # "cannot import name ..." (Python's import lock hands it a half-initialised module).
    import sentence_transformers  # noqa: F401
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast  # noqa: F401

    def warm() -> None:
        try:
            intent_reader()("hello")
        except Exception:  # a missing model shows up, with its message, on the first real turn
            import logging

            logging.getLogger(__name__).exception("warming up the text models failed")

    threading.Thread(target=warm, name="tutor-warm-up", daemon=True).start()

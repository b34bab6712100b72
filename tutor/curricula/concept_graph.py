"""A curriculum version's concept graph as a ``knowledge_graph`` DiGraph.

Built from the stored concepts and prerequisite links, in the pure library's
shape (u -> v: u is a prerequisite of v; ``any_of`` groups on the node), and
cached per curriculum version: versions never change after import.
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx

from knowledge_graph.graph import build_graph
from tutor.curricula.models import Curriculum


def concept_dicts(curriculum: Curriculum) -> tuple[list[dict], list[tuple[str, str]]]:
    """The concepts in package form, and the related (non-prerequisite) pairs."""
    concepts, related = [], []
    for c in curriculum.concepts.prefetch_related("prerequisite_links__requires").order_by("key"):
        links = list(c.prerequisite_links.all())
        groups: dict[int, list[str]] = {}
        for link in links:
            if link.group is not None:
                groups.setdefault(link.group, []).append(link.requires.key)
        concepts.append(
            {
                "id": c.key,
                "name": c.name,
                "description": c.description,
                "prerequisites": [link.requires.key for link in links if link.group is None],
                "any_of": [groups[g] for g in sorted(groups)],
            }
        )
        related += [(c.key, other) for other in c.related]
    return concepts, related


def concept_graph(curriculum: Curriculum) -> nx.DiGraph:
    """The cached graph; keyed by id and creation time, as ids can be reused after a rollback."""
    return _graph(curriculum.pk, curriculum.created_at)


@lru_cache(maxsize=64)
def _graph(curriculum_id: int, created_at) -> nx.DiGraph:
    concepts, related = concept_dicts(Curriculum.objects.get(pk=curriculum_id))
    return build_graph(concepts, related=related)

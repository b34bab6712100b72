"""The Achieve the Core Coherence Map as a curriculum package.

The map (``{nodes, edges}``, see ``knowledge_graph.coherence``) is a concept
graph of the Common Core maths standards without problems, so the package
has concepts, prerequisites and related links only. Its prerequisite edges
contain a few 2-cycles (compound standard ids in the source); importing it
needs ``--break-cycles``, which drops and reports those back-edges.
"""

from __future__ import annotations

from typing import Any

from knowledge_graph.coherence import coherence_to_concepts

DEFAULT_ID = "ccss-math-coherence"


def coherence_package(doc: Any, *, package_id: str = DEFAULT_ID) -> dict:
    """Our package format for a Coherence Map document. Raises ValueError on a bad shape."""
    concepts, related = coherence_to_concepts(doc)
    links: dict[str, list[str]] = {}
    for u, v in related:
        links.setdefault(u, []).append(v)
        links.setdefault(v, []).append(u)
    out = []
    for c in concepts:
        concept = {k: v for k, v in c.items() if v not in (None, "", [])}
        if c["id"] in links:
            concept["related"] = list(dict.fromkeys(links[c["id"]]))
        out.append(concept)
    source = doc.get("source", "Achieve the Core Coherence Map") if isinstance(doc, dict) else ""
    return {
        "format": "tutorgraph-curriculum/1",
        "id": package_id,
        "title": "Common Core maths: the coherence map",
        "description": "Concepts and prerequisites of the Common Core State Standards for Mathematics.",
        "language": "en",
        "license": "CC0-1.0",
        "attribution": source,
        "concepts": out,
    }

"""The concept graph as JSON for the browser's graph view.

One shape for a published curriculum (from the database) and for an upload
under review (from its package), so the same page draws both.
"""

from __future__ import annotations

from collections import Counter

from tutor.curricula.models import Curriculum, Prerequisite


def _payload(concepts: list[dict], edges: list[dict], title: str) -> dict:
    return {"title": title, "concepts": concepts, "edges": edges}


def graph_of_curriculum(curriculum: Curriculum) -> dict:
    problems = Counter(curriculum.problems.values_list("concepts__key", flat=True).exclude(concepts__key__isnull=True))
    passages = Counter(curriculum.passages.values_list("concepts__key", flat=True))
    concepts = [
        {
            "id": c.key,
            "name": c.name,
            "description": c.description,
            "standard": c.standard,
            "difficulty": c.difficulty,
            "problems": problems.get(c.key, 0),
            "passages": passages.get(c.key, 0),
        }
        for c in curriculum.concepts.order_by("key")
    ]
    links = Prerequisite.objects.filter(concept__curriculum=curriculum).values_list(
        "requires__key", "concept__key", "group"
    )
    edges = [{"source": u, "target": v, "group": g} for u, v, g in links]
    return _payload(concepts, edges, str(curriculum))


def graph_of_package(doc: dict, dropped: list[list[str]] = ()) -> dict:
    """The graph an upload would publish, without the edges --break-cycles drops."""
    problems: Counter = Counter(k for p in doc.get("problems", []) for k in p.get("concepts", []))
    passages: Counter = Counter(k for p in doc.get("passages", []) for k in p.get("concepts", []))
    concepts, edges = [], []
    for c in doc.get("concepts", []):
        concepts.append(
            {
                "id": c["id"],
                "name": c["name"],
                "description": c.get("description", ""),
                "standard": c.get("standard", ""),
                "difficulty": c.get("difficulty"),
                "problems": problems.get(c["id"], 0),
                "passages": passages.get(c["id"], 0),
            }
        )
        edges += [{"source": p, "target": c["id"], "group": None} for p in c.get("prerequisites", [])]
        for g, group in enumerate(c.get("any_of", [])):
            edges += [{"source": p, "target": c["id"], "group": g} for p in group]
    gone = {tuple(e) for e in dropped}
    edges = [e for e in edges if (e["source"], e["target"]) not in gone]
    return _payload(concepts, edges, f"{doc.get('title', '')} (preview)")

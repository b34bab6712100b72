"""Load the Achieve the Core Coherence Map (Common Core maths standards) as concepts.

The map is JSON of this shape::

    {"source": str,
     "nodes": [{"id": "3.NF.A.1", "description": "..."}],
     "edges": [{"from": id, "to": id, "kind": "prerequisite" | "related", "note": str}]}

Each node becomes a concept whose ``standard`` is its id. A "prerequisite"
edge from -> to makes ``from`` a prerequisite of ``to``; a "related" edge is
returned as a pair for ``build_graph(related=...)``. Descriptions hold a
little HTML (``<i>``, ``<sup>``, ``&lt;``), which is turned into plain text.

``validate_coherence`` reports every shape problem with its JSON path.
Cycles are not its business: the real map has a few, so the caller runs
``validate_graph`` on the concepts and decides (``break_cycles``).

>>> doc = {
...     "source": "example",
...     "nodes": [{"id": "3.NF.A.1", "description": "Understand a fraction <i>1/b</i>."},
...               {"id": "4.NF.A.1", "description": "Explain why a fraction a/b is equivalent to (n × a)/(n × b)."}],
...     "edges": [{"from": "3.NF.A.1", "to": "4.NF.A.1", "kind": "prerequisite", "note": ""}],
... }
>>> concepts, related = coherence_to_concepts(doc)
>>> concepts[0]["name"], concepts[1]["prerequisites"], related
('3.NF.A.1: Understand a fraction 1/b.', ['3.NF.A.1'], [])
>>> for issue in validate_coherence({"nodes": doc["nodes"], "edges": [{"from": "3.NF.A.1", "to": "4.XX.1"}]}):
...     print(issue)
edges[0].to: unknown node '4.XX.1'
edges[0].kind: kind must be 'prerequisite' or 'related', got None
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from knowledge_graph.graph import GraphIssue

EDGE_KINDS = ("prerequisite", "related")
NAME_CHARS = 60

_SUPERSCRIPT = re.compile(r"<sup>(.*?)</sup>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def load_coherence(path: str | Path) -> tuple[list[dict], list[tuple[str, str]]]:
    """``coherence_to_concepts`` of the JSON file at ``path``."""
    return coherence_to_concepts(json.loads(Path(path).read_text(encoding="utf-8")))


def coherence_to_concepts(doc: Any) -> tuple[list[dict], list[tuple[str, str]]]:
    """The concept dicts (in node order) and related pairs (in edge order) of a Coherence Map document.

    Raises ``ValueError`` listing every problem ``validate_coherence`` finds,
    one per line, so a broken file is fixed in one pass.
    """
    issues = validate_coherence(doc)
    if issues:
        raise ValueError("invalid coherence map:\n" + "\n".join(str(issue) for issue in issues))
    prerequisites: dict[str, list[str]] = {node["id"]: [] for node in doc["nodes"]}
    related = []
    for edge in doc["edges"]:
        if edge["kind"] == "prerequisite":
            prerequisites[edge["to"]].append(edge["from"])
        else:
            related.append((edge["from"], edge["to"]))
    concepts = []
    for node in doc["nodes"]:
        description = clean_text(node["description"])
        concepts.append(
            {
                "id": node["id"],
                "name": f"{node['id']}: {_shorten(description)}",
                "description": description,
                "difficulty": None,
                "standard": node["id"],
                "prerequisites": prerequisites[node["id"]],
                "any_of": [],
            }
        )
    return concepts, related


def validate_coherence(doc: Any) -> list[GraphIssue]:
    """Every shape problem in a Coherence Map document, each with its JSON path; empty when it loads.

    Codes: ``invalid_shape``, ``duplicate_id``, ``unknown_concept`` (an edge
    naming a node that is not in ``nodes``) and ``self_prerequisite``.
    """
    if not isinstance(doc, dict):
        return [GraphIssue("document", f"expected an object, got {type(doc).__name__}", "invalid_shape")]
    issues = []
    if not isinstance(doc.get("source", ""), str):
        issues.append(GraphIssue("source", "source must be a string", "invalid_shape"))
    ids: dict[str, int] = {}
    for i, node in enumerate(_list(doc, "nodes", issues)):
        if not isinstance(node, dict):
            issues.append(GraphIssue(f"nodes[{i}]", f"expected an object, got {type(node).__name__}", "invalid_shape"))
            continue
        node_id = node.get("id")
        if not isinstance(node_id, str) or not node_id:
            issues.append(GraphIssue(f"nodes[{i}].id", "id must be a non-empty string", "invalid_shape"))
        elif node_id in ids:
            message = f"duplicate id {node_id!r} (first at nodes[{ids[node_id]}])"
            issues.append(GraphIssue(f"nodes[{i}].id", message, "duplicate_id"))
        else:
            ids[node_id] = i
        if not isinstance(node.get("description"), str):
            issues.append(GraphIssue(f"nodes[{i}].description", "description must be a string", "invalid_shape"))
    for i, edge in enumerate(_list(doc, "edges", issues)):
        here = f"edges[{i}]"
        if not isinstance(edge, dict):
            issues.append(GraphIssue(here, f"expected an object, got {type(edge).__name__}", "invalid_shape"))
            continue
        for end in ("from", "to"):
            if not isinstance(edge.get(end), str):
                issues.append(GraphIssue(f"{here}.{end}", "must be a node id string", "invalid_shape"))
            elif edge[end] not in ids:
                issues.append(GraphIssue(f"{here}.{end}", f"unknown node {edge[end]!r}", "unknown_concept"))
        if edge.get("kind") not in EDGE_KINDS:
            message = f"kind must be 'prerequisite' or 'related', got {edge.get('kind')!r}"
            issues.append(GraphIssue(f"{here}.kind", message, "invalid_shape"))
        elif edge["kind"] == "prerequisite" and edge.get("from") == edge.get("to"):
            issues.append(GraphIssue(here, f"{edge['to']!r} is its own prerequisite", "self_prerequisite"))
        if not isinstance(edge.get("note", ""), str):
            issues.append(GraphIssue(f"{here}.note", "note must be a string", "invalid_shape"))
    return issues


def _list(doc: dict, key: str, issues: list[GraphIssue]) -> list:
    value = doc.get(key)
    if isinstance(value, list):
        return value
    issues.append(
        GraphIssue(key, "missing" if value is None else f"expected a list, got {type(value).__name__}", "invalid_shape")
    )
    return []


def clean_text(text: str) -> str:
    """Plain text from a standard's description: tags dropped, x<sup>2</sup> as x^2, entities decoded.

    >>> clean_text("Use <i>x</i><sup>2</sup> &lt; 10  for  <i>x</i> <sup> </sup>at 3 <sup>o</sup>C.")
    'Use x^2 < 10 for x at 3 °C.'
    """
    text = _SUPERSCRIPT.sub(_superscript, text)
    text = _TAG.sub("", text)  # before unescaping, so a decoded "&lt;" is not read as a tag
    return " ".join(html.unescape(text).split())


def _superscript(match: re.Match[str]) -> str:
    # The map writes degrees as a superscript "o" and has an empty superscript as a stray marker.
    text = match.group(1).strip()
    return "°" if text == "o" else f"^{text}" if text else ""


def _shorten(text: str, limit: int = NAME_CHARS) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with "…" when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"

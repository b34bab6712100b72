"""The concept graph: which concepts build on which, and what a student is ready for.

A pure library over networkx: no Django, no database, so the planner and its
tests run anywhere. Functions are free functions over a graph, in networkx's
style, and never hide state in the graph beyond what is written here.

Representation
--------------
A ``networkx.DiGraph`` whose nodes are concept ids (``str``) with attributes

- ``name``: a short human label;
- ``description``: plain text;
- ``difficulty``: a float, or None when unknown;
- ``standard``: the curriculum standard it teaches (e.g. ``"3.NF.A.1"``), or None;
- ``any_of``: a list of OR groups, each a list of concept ids; a group is
  satisfied by mastering any one member.

An edge ``u -> v`` means "u is a prerequisite of v". Each edge has

- ``kind``: ``"prerequisite"`` (AND: required) or ``"any_of"`` (a member of an OR group);
- ``group``: the index into ``v``'s ``any_of`` list, or None for AND edges.

Non-prerequisite "related" links (from the Coherence Map) are kept in
``G.graph["related"]`` as a list of ``(u, v)`` pairs, not as edges, so the
DiGraph stays a prerequisite DAG that ``topological_order`` can sort.

Concept dicts (the input of ``build_graph`` and ``validate_graph``) are
``{"id", "name", "description"?, "difficulty"?, "standard"?,
"prerequisites"?: [id, ...], "any_of"?: [[id, ...], ...]}``.

>>> concepts = [
...     {"id": "count", "name": "Counting"},
...     {"id": "add", "name": "Addition", "prerequisites": ["count"]},
...     {"id": "sub", "name": "Subtraction", "prerequisites": ["count"]},
...     {"id": "mul", "name": "Multiplication", "any_of": [["add", "sub"]]},
... ]
>>> validate_graph(concepts)
[]
>>> G = build_graph(concepts)
>>> topological_order(G)
['count', 'add', 'sub', 'mul']
>>> ready_concepts(G, mastered={"count", "sub"})
['add', 'mul']
"""

from knowledge_graph.coherence import clean_text, coherence_to_concepts, load_coherence, validate_coherence
from knowledge_graph.graph import (
    CYCLE_LIMIT,
    GraphIssue,
    break_cycles,
    build_graph,
    find_cycles,
    topological_order,
    validate_graph,
)
from knowledge_graph.mastery import (
    DEFAULT_TAU,
    Requirements,
    is_ready,
    mastered_concepts,
    overlay_mastery,
    ready_concepts,
    required_prerequisites,
)
from knowledge_graph.neighbourhood import dependents_of, neighbourhood, neighbourhood_weights, prerequisites_of

__all__ = [
    "CYCLE_LIMIT",
    "DEFAULT_TAU",
    "GraphIssue",
    "Requirements",
    "break_cycles",
    "build_graph",
    "clean_text",
    "coherence_to_concepts",
    "dependents_of",
    "find_cycles",
    "is_ready",
    "load_coherence",
    "mastered_concepts",
    "neighbourhood",
    "neighbourhood_weights",
    "overlay_mastery",
    "prerequisites_of",
    "ready_concepts",
    "required_prerequisites",
    "topological_order",
    "validate_coherence",
    "validate_graph",
]

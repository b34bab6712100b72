"""``manage.py plan_path --graph JSON --mastered ID,ID --goals ID,ID [--weak ID,ID] [--json]``: plan a learning path.

The graph file has the Coherence Map's shape (``knowledge_graph.coherence``):
``{"nodes": [{"id", "description"}], "edges": [{"from", "to", "kind"}]}``, and
each node may add ``difficulty`` (IRT logit), ``problems`` and ``passages``
(counts or lists) and ``any_of`` (lists of ids, one satisfied member each).
``--mastered`` takes ids, or ``id=probability`` for an estimate (mastered at
>= ``--tau``). Nothing touches the database.

Exit status 0 with the plan; non-zero with a message naming the ids at fault
(unknown ids, an unreachable goal, a cycle the goals need).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from knowledge_graph import break_cycles, build_graph, coherence_to_concepts, validate_graph
from knowledge_graph.plan_cost import CostModel
from knowledge_graph.planner import DEFAULT_PLAN_TAU, PlanCycleError, PlanError, plan_path

NODE_EXTRAS = ("difficulty", "problems", "passages", "any_of")


class Command(BaseCommand):
    help = "Plan the cheapest learning path from mastered concepts to goals on a concept graph (JSON)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--graph", type=Path, required=True, help="Coherence-map-shaped JSON graph.")
        parser.add_argument("--goals", required=True, help="Comma-separated goal concept ids.")
        parser.add_argument("--mastered", default="", help="Comma-separated ids, or id=probability estimates.")
        parser.add_argument("--weak", default="", help="Comma-separated ids to repair even if mastered.")
        parser.add_argument("--tau", type=float, default=DEFAULT_PLAN_TAU, help="Mastery threshold.")
        parser.add_argument("--theta", type=float, default=0.0, help="The learner's IRT ability.")
        parser.add_argument(
            "--break-cycles", action="store_true", help="Drop prerequisite back-edges that close cycles first."
        )
        parser.add_argument("--json", action="store_true", help="Print the plan as one JSON object.")

    def handle(self, **options) -> None:
        graph = load_graph(options["graph"])
        if options["break_cycles"]:
            for u, v in break_cycles(graph):
                self.stderr.write(f"dropped prerequisite edge {u} -> {v} (it closed a cycle)")
        try:
            plan = plan_path(
                graph,
                _mastery(options["mastered"]),
                _ids(options["goals"]),
                weak=_ids(options["weak"]),
                cost=CostModel(theta=options["theta"]),
                tau=options["tau"],
            )
        except PlanCycleError as exc:
            raise CommandError(f"{exc} (or pass --break-cycles)") from None
        except PlanError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(plan.as_dict()))
            return
        for k, step in enumerate(plan.steps, 1):
            self.stdout.write(f"{k:3d}. {step}  ({plan.step_costs[step]:.1f} attempts): {plan.reasons[step]}")
        if plan.reached:
            self.stdout.write("already mastered: " + ", ".join(plan.reached))
        self.stdout.write(
            f"cost {plan.cost:.2f} expected attempts; lower bound {plan.lower_bound:.2f} ({plan.certificate}); "
            f"bound factor {plan.bound_factor:.3f}"
        )


def load_graph(path: Path):
    """The graph of a coherence-map-shaped file, with the optional node attributes; CommandError if invalid."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        concepts, related = coherence_to_concepts(doc)
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:  # bad JSON, or the map's own checks
        raise CommandError(f"{path}: {exc}") from None
    problems = []
    for i, (node, concept) in enumerate(zip(doc["nodes"], concepts, strict=True)):
        concept.update({key: node[key] for key in NODE_EXTRAS if key in node})
        for key in ("problems", "passages"):
            value = node.get(key, 0)
            if not (isinstance(value, list) or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)):
                problems.append(f"nodes[{i}].{key}: must be a count or a list, got {value!r}")
    # Cycles are the planner's business: only one among the concepts the goals need stops a plan.
    problems += [str(issue) for issue in validate_graph(concepts, path="nodes") if issue.code != "cycle"]
    if problems:
        raise CommandError(f"{path}: invalid graph:\n" + "\n".join(problems))
    return build_graph(concepts, related=related)


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _mastery(text: str) -> dict[str, float]:
    mastery = {}
    for part in _ids(text):
        concept, _, value = part.partition("=")
        try:
            mastery[concept.strip()] = float(value) if value else 1.0
        except ValueError:
            raise CommandError(f"--mastered: {part!r} is not id or id=probability") from None
    return mastery

"""The model registry page, ``/models/`` (admins only): every model with its card and metrics; promote one to live."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tutor.accounts.views import role_required
from tutor.tutormodels import catalog
from tutor.tutormodels.actions import PromoteError, tutormodel_promote
from tutor.tutormodels.live import live_name
from tutor.tutormodels.models import ModelPromotion

SYSTEMS = ("finetuned", "base", "scripted")
LABELS = ("evaluation", "action", "subproblem_state")


def _short(value: object) -> object:
    """Floats to 4 significant digits for reading; anything else as is."""
    return float(f"{value:.4g}") if isinstance(value, float) else value


def _row(entry: catalog.Entry) -> dict:
    """What the page shows for one model: card fields and the evaluation side by side."""
    card, report = entry.card, entry.report or {}
    systems = report.get("systems", {})
    dialogues = report.get("dialogues", {})
    evaluation = [
        {
            "system": name,
            "json_validity": systems[name].get("json_validity"),
            "labels": [systems[name].get(label, {}) for label in LABELS],
            "dialogue": dialogues.get(name, {}),
        }
        for name in SYSTEMS
        if name in systems
    ]
    return {
        "name": entry.name,
        "shipped": entry.shipped,
        "kind": card.get("kind", "?"),
        "base": card.get("base_name") or card.get("base", ""),
        "dataset_hash": card.get("dataset", {}).get("hash", ""),
        "curriculum": ", ".join(card.get("dataset", {}).get("curriculum", [])),
        "hyperparameters": sorted(card.get("hyperparameters", {}).items()),
        "metrics": [(k, _short(v)) for k, v in sorted(card.get("metrics", {}).items())],
        "wall_time_s": card.get("wall_time_s"),
        "report_n": report.get("n"),
        "report_split": report.get("split"),
        "evaluation": evaluation,
        "servable": catalog.resolvable(entry),
    }


@role_required("admin")
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    live = live_name()
    rows = [_row(entry) for entry in catalog.all_models()]
    history = ModelPromotion.objects.select_related("promoted_by")[:20]
    return render(
        request,
        "tutormodels/list.html",
        {"rows": rows, "live": live, "history": history, "labels": LABELS},
    )


@role_required("admin")
@require_POST
def model_promote(request: HttpRequest, name: str) -> HttpResponse:
    try:
        tutormodel_promote(name=name, actor=request.user, request=request)
    except PromoteError as error:
        messages.error(request, str(error))
        return redirect("model_list")
    messages.success(request, f"{name} is live: new tutoring sessions use it; running sessions keep their model.")
    return redirect("model_list")

"""``manage.py irt_calibrate --responses CSV --model 2pl --out JSON``: calibrate items from a log.

Items answered all right or all wrong carry no information about their
parameters; they are listed in the output under ``degenerate`` with the
reason, and left out of ``items``, instead of breaking the fit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from models.irt import IRTModel
from models.irt.logs import ResponsesError, read_responses


def _num(x: float) -> float | None:
    return None if math.isnan(x) else round(float(x), 6)


class Command(BaseCommand):
    help = "Calibrate 1PL/2PL/3PL item parameters from a person,item,correct CSV."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--responses", type=Path, required=True, help="CSV with columns person,item,correct")
        parser.add_argument("--model", choices=["1pl", "2pl", "3pl"], default="2pl")
        parser.add_argument("--out", type=Path, required=True, help="where to write the JSON parameters")

    def handle(self, responses: Path, model: str, out: Path, **options) -> None:
        if not responses.is_file():
            raise CommandError(f"{responses}: no such file")
        try:
            with responses.open(newline="", encoding="utf-8-sig") as fh:
                log = read_responses(fh, name=str(responses))
        except ResponsesError as exc:
            raise CommandError(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"{responses}: not UTF-8 text (byte {exc.start} is invalid)") from None
        try:
            fitted = IRTModel(model=model, n_items=len(log.item_ids)).fit(log.person, log.item, log.correct)
        except ValueError as exc:
            raise CommandError(f"{responses}: {exc}") from None
        p, se = fitted.item_params_, fitted.se_
        degenerate = {log.item_ids[i]: reason for i, reason in fitted.degenerate_reasons_.items()}
        items = {
            item_id: {
                "a": _num(p.a[i]),
                "b": _num(p.b[i]),
                "c": _num(p.c[i]),
                "se_a": _num(se.a[i]),
                "se_b": _num(se.b[i]),
            }
            for i, item_id in enumerate(log.item_ids)
            if item_id not in degenerate
        }
        result = {
            "model": model,
            "items": items,
            "loglik": round(float(fitted.loglik_), 4),
            "degenerate": degenerate,
            "responses": int(log.correct.size),
            "persons": len(log.person_ids),
            "converged": bool(fitted.converged_),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        for item_id, reason in degenerate.items():
            self.stderr.write(f"item {item_id!r} left out of calibration: {reason}")
        self.stdout.write(
            self.style.SUCCESS(f"Calibrated {len(items)} items ({model}) from {log.correct.size} responses -> {out}")
        )

"""Item parameters as the learner model reads them, and the theta posterior on a fixed grid. Reads only.

Where an item's (a, b, c) come from: the latest ``ItemCalibration`` of its
curriculum version if that version fitted the item, else the author's
``irt_a/b/c`` from the package (a missing ``a`` is 1, a missing ``c`` is 0),
else nowhere: an item without ``b`` is still stored and still counts as
mastery evidence, but it cannot move theta and the placement test skips it.
A recalibration puts items on the scale of the students who answered them,
authored values are on the author's; both mean "theta ~ N(0, 1) in the
population", so mixing them is an approximation that the next versions of a
well-used curriculum remove (every item gets fitted).

Why a grid posterior: EAP on the 61-point grid of ``models.irt`` (theta in
[-6, 6]) is finite for all-right and all-wrong patterns, its SD is the SE
the placement test stops on, and adding one response is adding one row of
log-probabilities: O(61), a few microseconds, whatever the history length.
``log_posteriors`` is the from-scratch version (one sparse product for any
number of students) that rebuilds a posterior after a recalibration.

Both caches below are keyed by what makes their rows immutable: a curriculum
version is never edited after import and a calibration version never after it
is stored. The creation time is in the key because a rolled-back transaction
can hand the same id to a different row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
from scipy import sparse

from models.irt import ItemParams
from models.irt.quadrature import normal_quadrature
from tutor.curricula.models import Curriculum, Item
from tutor.learners.models import ItemCalibration

GRID_POINTS = 61
NODES, LOG_PRIOR = normal_quadrature(GRID_POINTS, "grid")


@dataclass(frozen=True)
class CalibrationRef:
    """Which calibration version is current: enough to key caches and to tell a stale posterior."""

    pk: int
    created_at: datetime


@dataclass(frozen=True)
class ItemBank:
    """A curriculum version's items in position order, with the parameters in force and their concepts."""

    item_ids: tuple[int, ...]
    keys: tuple[str, ...]
    params: ItemParams  # NaN where an item has no usable parameters
    concepts: tuple[tuple[str, ...], ...]
    source: tuple[str, ...]  # "calibrated", "authored" or "" per item
    index: dict[int, int]  # Item.pk -> position in the arrays

    @property
    def usable(self) -> np.ndarray:
        return self.params.usable


# How long a process trusts its idea of the latest calibration version. Storing a version forgets it at
# once in the storing process; others see it within this time (an hourly refit makes a minute harmless),
# and each ability records the version it used, so it is rebuilt as soon as the newer one is seen.
LATEST_TTL_S = 60.0
_latest: dict[tuple[int, datetime], tuple[float, CalibrationRef | None]] = {}


def latest_calibration(curriculum: Curriculum) -> CalibrationRef | None:
    """The newest calibration version of a curriculum (without its parameters), cached for ``LATEST_TTL_S``.

    Cached because it is read on every response and is otherwise a database
    round trip that almost always returns the same answer.
    """
    key = (curriculum.pk, curriculum.created_at)
    hit = _latest.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < LATEST_TTL_S:
        return hit[1]
    row = (
        ItemCalibration.objects.filter(curriculum_id=curriculum.pk)
        .order_by("-version")
        .values_list("pk", "created_at")
        .first()
    )
    ref = CalibrationRef(*row) if row else None
    _latest[key] = (now, ref)
    return ref


def forget_latest_calibration(curriculum_id: int) -> None:
    """Drop this process's cached latest version of a curriculum (after storing a new one)."""
    for key in [k for k in _latest if k[0] == curriculum_id]:
        _latest.pop(key, None)


def item_bank(curriculum: Curriculum, calibration: CalibrationRef | None = None) -> ItemBank:
    """The item bank of ``curriculum`` with ``calibration`` (or only the authored values) applied."""
    cal = (calibration.pk, calibration.created_at) if calibration else (None, None)
    return _bank(curriculum.pk, curriculum.created_at, *cal)


@lru_cache(maxsize=256)
def _calibrated(calibration_id: int, created_at: datetime) -> dict[str, dict]:
    return ItemCalibration.objects.values_list("params", flat=True).get(pk=calibration_id)


@lru_cache(maxsize=64)
def _bank(curriculum_id: int, created_at: datetime, calibration_id: int | None, cal_created: datetime | None):
    fitted = _calibrated(calibration_id, cal_created) if calibration_id is not None else {}
    items = list(Item.objects.filter(curriculum_id=curriculum_id).order_by("position", "pk"))
    through = Item.concepts.through.objects.filter(item__curriculum_id=curriculum_id)
    concepts: dict[int, list[str]] = {}
    for item_id, key in through.order_by("concept__key").values_list("item_id", "concept__key"):
        concepts.setdefault(item_id, []).append(key)
    a, b, c = (np.full(len(items), np.nan) for _ in range(3))
    source: list[str] = []
    for i, item in enumerate(items):
        p = fitted.get(item.key)
        if p is not None and p.get("b") is not None:
            a[i], b[i], c[i] = p.get("a") or 1.0, p["b"], p.get("c") or 0.0
            source.append("calibrated")
        elif item.irt_b is not None:
            a[i], b[i], c[i] = item.irt_a or 1.0, item.irt_b, item.irt_c or 0.0
            source.append("authored")
        else:
            source.append("")
    return ItemBank(
        item_ids=tuple(item.pk for item in items),
        keys=tuple(item.key for item in items),
        params=ItemParams(a=a, b=b, c=c),
        concepts=tuple(tuple(concepts.get(item.pk, ())) for item in items),
        source=tuple(source),
        index={item.pk: i for i, item in enumerate(items)},
    )


def posterior_moments(log_post: np.ndarray) -> tuple[float, float]:
    """EAP theta and posterior SD of a grid log-posterior (any additive constant)."""
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    mean = float(w @ NODES)
    return mean, float(np.sqrt(max(float(w @ NODES**2) - mean**2, 0.0)))


def log_posteriors(
    person: np.ndarray, item: np.ndarray, correct: np.ndarray, params: ItemParams, n_persons: int
) -> np.ndarray:
    """(n_persons, 61) log-posteriors from scratch: the prior plus one log P row per response.

    ``item`` indexes ``params``; responses to items without usable parameters
    add nothing (``ItemParams.log_table`` leaves their rows at zero). One
    sparse product, so a whole curriculum's students cost one pass.
    """
    table = params.log_table(NODES)
    design = sparse.csr_matrix(
        (np.ones(len(person)), (np.asarray(person), 2 * np.asarray(item) + np.asarray(correct, dtype=np.int64))),
        shape=(n_persons, 2 * len(params)),
    )
    return np.asarray(design @ table) + LOG_PRIOR[None, :]

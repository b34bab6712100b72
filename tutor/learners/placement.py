"""The placement test's rules: which item next, when to stop, and what theta means in words. No writes.

Why these settings: the test measures, so it picks by maximum Fisher
information at the current theta, at random among the ``TOP_K`` best so the
same few items do not go to every student first (randomesque exposure
control). It stops when the posterior SD reaches ``SE_TARGET`` (0.3 logits:
a 95% interval about +-0.6, enough to tell "start at the beginning" from
"ready for the hard part"), or after ``MAX_ITEMS`` questions so nobody sits
an endless test, or when the bank has no usable item left.
"""

from __future__ import annotations

import math

import numpy as np

from models.irt import select_max_info, should_stop
from tutor.learners.calibration import ItemBank

SE_TARGET = 0.3
MAX_ITEMS = 15
TOP_K = 3
ANSWER_MAX_CHARS = 500


def next_item_index(bank: ItemBank, theta: float, administered: list[int], rng=None) -> int | None:
    """Position in ``bank`` of the next item (max information, randomesque top-k), or None if none is left."""
    return select_max_info(theta, bank.params, administered, k=TOP_K, rng=rng or np.random.default_rng())


def stop_reason(bank: ItemBank, se: float, n_items: int, administered: list[int]) -> str | None:
    """Why the test ends now ("se", "max_items", "no_items"), or None to go on."""
    if n_items >= MAX_ITEMS:
        return "max_items"
    if should_stop(se, n_items, se_target=SE_TARGET, max_items=MAX_ITEMS):
        return "se"
    left = bank.usable.copy()
    left[administered] = False
    return None if left.any() else "no_items"


def percentile(theta: float) -> int:
    """Where theta sits in the N(0, 1) population the item scale assumes, as a whole percentile (1..99)."""
    return min(99, max(1, round(50 * (1 + math.erf(theta / math.sqrt(2))))))


def reading(theta: float, se: float) -> str:
    """A plain-language reading of theta +- se for the student (and their teacher)."""
    if theta < -1.0:
        level = "The questions at the start of this course are the right place for you to begin."
    elif theta < -0.3:
        level = "You have some of the basics; practise the early and middle topics before the harder ones."
    elif theta <= 0.3:
        level = "You are about where a typical student of this course is: ready for the middle topics."
    elif theta <= 1.0:
        level = "You are ahead of a typical student: you can move on to the harder topics."
    else:
        level = "You already know most of this course: go straight to the hardest topics."
    low, high = percentile(theta - 2 * se), percentile(theta + 2 * se)
    sure = "We are fairly sure of this" if se <= SE_TARGET else "This is a rough first estimate"
    return (
        f"{level} You scored about as well as a student who does better than {percentile(theta)}% of a typical "
        f"class. {sure}: the range is likely between {low}% and {high}%."
    )

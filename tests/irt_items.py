"""Test helper: give a curriculum a bank of calibrated number items, and simulate students answering them."""

from __future__ import annotations

import numpy as np

from models.irt import ItemParams
from tutor.curricula.models import Concept, Item


def add_items(curriculum, n: int = 20, a: float = 1.5, c: float = 0.0, concept: str = "frac.add-unlike") -> list[Item]:
    """``n`` items ``bank.<i>`` with b evenly from -2.5 to 2.5; the answer to ``bank.<i>`` is the number i + 1."""
    start = curriculum.items.count()
    tagged = Concept.objects.get(curriculum=curriculum, key=concept)
    items = []
    for i, b in enumerate(np.linspace(-2.5, 2.5, n)):
        item = Item.objects.create(
            curriculum=curriculum,
            key=f"bank.{i}",
            position=start + i,
            question=f"Type the number {i + 1}.",
            answer={"kind": "number", "value": str(i + 1)},
            irt_a=a,
            irt_b=float(b),
            irt_c=c,
        )
        item.concepts.add(tagged)
        items.append(item)
    return items


def right_answer(item: Item) -> str:
    return str(item.answer["value"])


def params_of(items: list[Item]) -> ItemParams:
    """The authored parameters of ``items`` as the pure library takes them."""
    return ItemParams(
        a=np.array([i.irt_a for i in items], float),
        b=np.array([i.irt_b for i in items], float),
        c=np.array([i.irt_c or 0.0 for i in items], float),
    )


def simulate_correct(items: list[Item], theta: float, rng: np.random.Generator) -> list[bool]:
    """A 3PL-simulated student of ability ``theta`` answering every item once."""
    p = params_of(items).prob(np.array([theta]))[:, 0]
    return list(rng.random(len(items)) < p)

"""The privacy provider registry, after Moodle's privacy API.

Every app that stores personal data has a module ``tutor/<app>/privacy.py``
with one or more ``PrivacyProvider`` subclasses, registered with
``@register``. A provider says which models it covers (and, for each, which
fields point at the user), and implements two operations for one user:

- ``export(user)``: ``{table name: [row, ...]}``, JSON-serialisable with
  Django's encoder (datetimes, decimals, UUIDs); the ZIP is built from it;
- ``delete(user, pseudonym=...)``: removes or anonymises every row of that
  user in the covered models and returns ``{table name: rows touched}``.

``autodiscover()`` (called from ``PrivacyConfig.ready``) imports the
``privacy`` module of every installed app, the way the admin finds
``admin.py``. ``tests/test_privacy_coverage.py`` fails when a model with a
foreign key to the user model is not covered by some provider, so a new
model cannot quietly escape export and deletion.

Delete runs in ``order`` (low first): providers that must read rows another
provider deletes (the coaching provider reads the student's messages to
scrub her answers from suggestions) run before it, and the accounts provider,
which removes the user row itself, runs last.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django.apps import apps
from django.db.models import Model, QuerySet
from django.utils.module_loading import autodiscover_modules

_registry: dict[str, type[PrivacyProvider]] = {}


class PrivacyProvider:
    """One app's answer to "what do you hold about this user, and how do you forget it"."""

    #: ``"app_label.ModelName"`` -> the fields on it that point at the user (``()`` for the user model itself
    #: or a model reached only through another covered model).
    models: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: Delete order: lower first. The accounts provider (the user row) is last.
    order: ClassVar[int] = 50

    def export(self, user) -> dict[str, list[dict[str, Any]]]:
        raise NotImplementedError

    def delete(self, user, *, pseudonym: str) -> dict[str, int]:
        raise NotImplementedError

    @classmethod
    def name(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type[PrivacyProvider]) -> type[PrivacyProvider]:
    """Class decorator: add a provider to the registry (idempotent: re-importing a module is harmless)."""
    if not issubclass(cls, PrivacyProvider):
        raise TypeError(f"{cls!r} is not a PrivacyProvider")
    _registry[cls.name()] = cls
    return cls


def autodiscover() -> None:
    autodiscover_modules("privacy")


def providers() -> list[PrivacyProvider]:
    """Every registered provider, instantiated, in delete order."""
    return [cls() for cls in sorted(_registry.values(), key=lambda c: (c.order, c.name()))]


def covered_fields() -> dict[str, set[str]]:
    """``"app_label.ModelName"`` -> user fields declared by any provider (the coverage test reads this)."""
    out: dict[str, set[str]] = {}
    for cls in _registry.values():
        for label, fields in cls.models.items():
            out.setdefault(label, set()).update(fields)
    return out


# --- Helpers for providers ----------------------------------------------------------------------------


def table(model: type[Model]) -> str:
    """The name a model's rows have in an export and in the counts: its database table."""
    return model._meta.db_table


def rows(queryset: QuerySet, *, exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every concrete column of the queryset's rows (foreign keys as ``<name>_id``), minus ``exclude``."""
    skip = set(exclude)
    names = [f.attname for f in queryset.model._meta.concrete_fields if f.attname not in skip and f.name not in skip]
    return list(queryset.order_by("pk").values(*names))


def deleted(queryset: QuerySet) -> dict[str, int]:
    """Delete; return rows removed per table, cascades included (so a session's messages are counted too)."""
    _, per_model = queryset.delete()
    return {apps.get_model(label)._meta.db_table: n for label, n in per_model.items() if n}


def merge(*counts: dict[str, int]) -> dict[str, int]:
    """Add up several ``{table: rows}`` dicts."""
    out: dict[str, int] = {}
    for part in counts:
        for key, n in part.items():
            out[key] = out.get(key, 0) + n
    return out

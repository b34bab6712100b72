"""Markers shared by test files: one definition of what "needs the real services" means."""

from __future__ import annotations

import pytest
from django.conf import settings

# The distributed mode's tests: real PostgreSQL and Redis, as .ci/run provides; skipped elsewhere.
needs_postgres_and_redis = pytest.mark.skipif(
    settings.EMBEDDED_DB or not settings.REDIS_URL,
    reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); .ci/run sets both",
)

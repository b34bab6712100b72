"""Rate limits: fixed-window counters in Django's cache.

The cache is Redis in the distributed mode, so every web process and worker
counts against the same numbers; in the embedded mode it is the process's
local memory, which is all there is. A window is one key
``<prefix>:<name>:<window number>`` that lives a little longer than the
window: ``cache.add`` creates it at 0 (atomic: only the first caller wins)
and ``cache.incr`` counts (atomic: Redis INCR, or a lock in local memory).
No read-modify-write, so two processes can never both take the last slot.

Limits are ``(count, seconds)`` pairs in settings (``RATE_LIMIT_*``), read at
call time, so tests change them with the ``settings`` fixture. A count of 0
switches that limit off.

Public API:

- ``hit(key, limit, window_s)`` counts one event and says whether it is allowed;
- ``peek(key, window_s)`` reads the count without adding to it;
- ``llm_tokens_remaining(user_id)`` / ``llm_tokens_charge(user_id, tokens)``:
  the per-user daily (UTC) LLM token budget, for the LLM serving code.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache

DAY_S = 24 * 60 * 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int  # events in this window, this one included
    limit: int
    retry_after_s: int  # seconds until the window resets (0 when allowed)
    window_s: int = 0


def _prefix() -> str:
    return getattr(settings, "RATE_LIMIT_KEY_PREFIX", "rl")


def _window(key: str, window_s: int, now: float) -> tuple[str, int]:
    number = int(now // window_s)
    reset_in = max(1, math.ceil((number + 1) * window_s - now))
    return f"{_prefix()}:{key}:{window_s}:{number}", reset_in


def _incr(full_key: str, amount: int, ttl: int) -> int:
    cache.add(full_key, 0, timeout=ttl)
    try:
        return cache.incr(full_key, amount)
    except ValueError:
        # The key expired between add and incr (the window just ended): start it again.
        cache.add(full_key, 0, timeout=ttl)
        return cache.incr(full_key, amount)


def hit(key: str, limit: int, window_s: int) -> Verdict:
    """Count one event under ``key`` in the current window of ``window_s`` seconds.

    Allowed while the count, this event included, is at most ``limit``.
    ``limit <= 0`` means no limit (nothing is counted).
    """
    if limit <= 0:
        return Verdict(True, 0, limit, 0, window_s)
    full_key, reset_in = _window(key, window_s, time.time())
    count = _incr(full_key, 1, window_s + 5)
    allowed = count <= limit
    return Verdict(allowed, count, limit, 0 if allowed else reset_in, window_s)


def peek(key: str, limit: int, window_s: int) -> Verdict:
    """Whether one more event under ``key`` would be allowed, without counting it."""
    if limit <= 0:
        return Verdict(True, 0, limit, 0, window_s)
    full_key, reset_in = _window(key, window_s, time.time())
    count = int(cache.get(full_key) or 0)
    allowed = count < limit
    return Verdict(allowed, count, limit, 0 if allowed else reset_in, window_s)


def limit_setting(name: str) -> tuple[int, int]:
    """A ``(count, seconds)`` limit from settings, e.g. ``RATE_LIMIT_LOGIN``."""
    count, seconds = getattr(settings, name)
    return int(count), int(seconds)


# --- Login -----------------------------------------------------------------------------------------------------


def login_key(username: str, ip: str | None) -> str:
    # Usernames are case-insensitive in the attack sense: "Alice" and "alice" share a counter.
    return f"login:{(username or '').strip().lower()[:150]}:{ip or '-'}"


def login_blocked(username: str, ip: str | None) -> Verdict:
    """Whether this username from this address has used up its failed sign-ins."""
    return peek(login_key(username, ip), *limit_setting("RATE_LIMIT_LOGIN"))


def login_failed(username: str, ip: str | None) -> Verdict:
    """Count one failed sign-in."""
    return hit(login_key(username, ip), *limit_setting("RATE_LIMIT_LOGIN"))


# --- Chat --------------------------------------------------------------------------------------------------------


def chat_message_allowed(user_id: int, socket_id: str) -> Verdict:
    """Count one chat message against the socket's and the user's (across sockets) limits.

    Returns the first verdict that refuses, else the user's.
    """
    per_socket = hit(f"chat:socket:{socket_id}", *limit_setting("RATE_LIMIT_CHAT_SOCKET"))
    if not per_socket.allowed:
        return per_socket
    return hit(f"chat:user:{user_id}", *limit_setting("RATE_LIMIT_CHAT_USER"))


# --- LLM tokens per user per UTC day -----------------------------------------------------------------------------


def _token_key(user_id: int) -> str:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"{_prefix()}:llm-tokens:{int(user_id)}:{day}"


def llm_tokens_remaining(user_id: int) -> int:
    """Tokens the user may still spend today (UTC day); never negative."""
    budget = int(settings.LLM_TOKENS_PER_USER_PER_DAY)
    spent = int(cache.get(_token_key(user_id)) or 0)
    return max(0, budget - spent)


def llm_tokens_charge(user_id: int, tokens: int) -> int:
    """Add ``tokens`` spent by the user today; returns what remains (never negative).

    Atomic across processes (one INCRBY), so concurrent turns of one user
    cannot both spend the last of the budget unnoticed.
    """
    if tokens < 0:
        raise ValueError(f"tokens must be >= 0, got {tokens}")
    budget = int(settings.LLM_TOKENS_PER_USER_PER_DAY)
    if tokens == 0:
        return llm_tokens_remaining(user_id)
    spent = _incr(_token_key(user_id), int(tokens), DAY_S + 60 * 60)
    return max(0, budget - spent)

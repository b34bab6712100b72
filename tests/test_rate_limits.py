"""Rate limits (tutor/security/ratelimit.py): sign-in, chat per socket and per
user, the daily LLM token budget, and counters shared through Redis.

Each test counts under its own key prefix, so counters from other tests (the
cache outlives a test) never leak in. Windows in these tests are very long,
so a window boundary cannot fall in the middle of a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.conftest import PASSWORD
from tests.test_session_socket import TIMEOUT, open_socket
from tutor.audit.models import AuditEvent
from tutor.dialogue.models import Message
from tutor.security import ratelimit
from tutor.security.ratelimit import chat_message_allowed, hit, llm_tokens_charge, llm_tokens_remaining

ROOT = Path(__file__).resolve().parent.parent
LONG = 10**7  # seconds: about 115 days


@pytest.fixture(autouse=True)
def _own_counters(settings):
    settings.RATE_LIMIT_KEY_PREFIX = f"rl-test-{uuid.uuid4().hex}"


# --- the counter -------------------------------------------------------------------------------------------------


def test_hit_allows_up_to_the_limit_then_refuses_with_a_retry_time():
    verdicts = [hit("k", 3, LONG) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.count for v in verdicts] == [1, 2, 3, 4, 5]
    assert verdicts[0].retry_after_s == 0
    assert 0 < verdicts[3].retry_after_s <= LONG


def test_a_limit_of_zero_switches_the_limit_off():
    assert all(hit("off", 0, 60).allowed for _ in range(100))


def test_keys_count_separately():
    assert hit("a", 1, LONG).allowed
    assert not hit("a", 1, LONG).allowed
    assert hit("b", 1, LONG).allowed


def test_concurrent_hits_never_hand_out_more_than_the_limit():
    allowed = []

    def worker():
        for _ in range(25):
            allowed.append(hit("race", 60, LONG).allowed)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 60 and len(allowed) == 200


def test_default_limits_let_200_students_send_a_few_messages_a_minute():
    """The load benchmark: 200 students, each its own user and socket, 3 messages in a minute."""
    assert django_settings.RATE_LIMIT_CHAT_USER[0] >= 3 and django_settings.RATE_LIMIT_CHAT_SOCKET[0] >= 3
    verdicts = [chat_message_allowed(user_id, f"socket-{user_id}") for user_id in range(1, 201) for _ in range(3)]
    assert all(v.allowed for v in verdicts)


# --- sign-in -----------------------------------------------------------------------------------------------------


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_login_past_the_limit_is_refused_with_429_and_a_clear_message(client, settings, alice):
    settings.RATE_LIMIT_LOGIN = (3, LONG)
    for _ in range(3):
        response = _login(client, "alice", "wrong")
        assert response.status_code == 200 and b"didn't match" in response.content
    refused = _login(client, "alice", PASSWORD)  # even the right password: not checked past the limit
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "Too many sign-in attempts; try again in" in text and "minutes" in text
    assert "_auth_user_id" not in client.session


def test_login_limit_is_per_username_and_address(client, settings, alice, bob):
    settings.RATE_LIMIT_LOGIN = (2, LONG)
    for _ in range(2):
        _login(client, "Alice", "wrong")
    assert _login(client, "alice", PASSWORD).status_code == 429  # usernames share a counter whatever their case
    assert _login(Client(), "bob", PASSWORD).status_code == 302  # another account
    assert _login(Client(), "alice", PASSWORD, ip="10.0.0.2").status_code == 302  # another address


def test_successful_logins_do_not_count(client, settings, alice):
    settings.RATE_LIMIT_LOGIN = (2, LONG)
    for _ in range(5):
        assert _login(Client(), "alice", PASSWORD).status_code == 302


def test_using_up_the_login_budget_is_audited_once(client, settings, alice):
    settings.RATE_LIMIT_LOGIN = (2, LONG)
    for _ in range(2):
        _login(client, "alice", "wrong")
    _login(client, "alice", "wrong")  # refused: not counted, not audited again
    events = AuditEvent.objects.filter(action="rate_limited", object_type="login")
    assert [(e.detail["username"], e.detail["limit"], e.ip) for e in events] == [("alice", 2, "10.0.0.1")]


def test_an_oversized_password_is_refused_before_hashing(client, alice):
    response = _login(client, "alice", "x" * 5000)
    assert response.status_code == 400 and b"1024 character limit" in response.content


# --- chat over the real socket -----------------------------------------------------------------------------------


async def _send(comm, client_id: str, text: str) -> dict:
    """Send one message and return its ack or error (tutor events in between are skipped)."""
    await comm.send_json_to({"type": "student_message", "client_id": client_id, "text": text})
    while True:
        event = await comm.receive_json_from(timeout=TIMEOUT)
        if event["type"] in ("ack", "error") and event.get("client_id") == client_id:
            return event


async def _drain(comm) -> None:
    while not await comm.receive_nothing(timeout=0.3):
        await comm.receive_output(timeout=TIMEOUT)


@pytest.mark.django_db(transaction=True)
async def test_chat_messages_past_the_socket_limit_get_an_error_and_are_not_stored(settings, alice, alice_session):
    settings.RATE_LIMIT_CHAT_SOCKET = (2, LONG)
    settings.RATE_LIMIT_CHAT_USER = (0, 60)
    comm, connected, _ = await open_socket(alice, alice_session)
    assert connected
    assert (await _send(comm, "m-1", "12"))["type"] == "ack"
    assert (await _send(comm, "m-2", "13"))["type"] == "ack"
    refused = await _send(comm, "m-3", "a distinctive refused answer")
    assert refused["code"] == "rate_limited", refused
    assert "retry in" in refused["detail"] and "the limit is 2 per" in refused["detail"]
    await _drain(comm)
    await comm.disconnect()
    texts = [m.text async for m in Message.objects.filter(session=alice_session, role="student")]
    assert "a distinctive refused answer" not in texts and len(texts) == 2


@pytest.mark.django_db(transaction=True)
async def test_chat_limit_per_user_counts_across_sockets(settings, alice, alice_session):
    settings.RATE_LIMIT_CHAT_SOCKET = (0, 60)
    settings.RATE_LIMIT_CHAT_USER = (2, LONG)
    first, _, _ = await open_socket(alice, alice_session)
    second, _, _ = await open_socket(alice, alice_session)
    assert (await _send(first, "u-1", "12"))["type"] == "ack"
    assert (await _send(second, "u-2", "13"))["type"] == "ack"
    refused = await _send(first, "u-3", "14")
    assert refused["type"] == "error" and refused["code"] == "rate_limited"
    refused = await _send(second, "u-4", "15")
    assert refused["type"] == "error" and refused["code"] == "rate_limited"
    for comm in (first, second):
        await _drain(comm)
        await comm.disconnect()
    assert await Message.objects.filter(session=alice_session, client_id__in=["u-3", "u-4"]).acount() == 0


@pytest.mark.django_db(transaction=True)
async def test_a_new_socket_gets_a_fresh_socket_budget(settings, alice, alice_session):
    settings.RATE_LIMIT_CHAT_SOCKET = (1, LONG)
    settings.RATE_LIMIT_CHAT_USER = (0, 60)
    first, _, _ = await open_socket(alice, alice_session)
    assert (await _send(first, "s-1", "12"))["type"] == "ack"
    assert (await _send(first, "s-2", "13"))["code"] == "rate_limited"
    second, _, _ = await open_socket(alice, alice_session)
    assert (await _send(second, "s-3", "14"))["type"] == "ack"
    for comm in (first, second):
        await _drain(comm)
        await comm.disconnect()


# --- LLM token budget --------------------------------------------------------------------------------------------


def test_llm_token_budget_counts_down_and_never_goes_negative(settings):
    settings.LLM_TOKENS_PER_USER_PER_DAY = 1000
    assert llm_tokens_remaining(7) == 1000
    assert llm_tokens_charge(7, 300) == 700
    assert llm_tokens_remaining(7) == 700
    assert llm_tokens_charge(7, 900) == 0
    assert llm_tokens_remaining(7) == 0
    assert llm_tokens_remaining(8) == 1000  # another user's budget is untouched


def test_llm_token_charge_refuses_negative_tokens():
    with pytest.raises(ValueError, match="tokens must be >= 0"):
        llm_tokens_charge(7, -5)


def test_llm_token_budget_is_per_utc_day(settings, monkeypatch):
    settings.LLM_TOKENS_PER_USER_PER_DAY = 100
    llm_tokens_charge(9, 100)
    assert llm_tokens_remaining(9) == 0
    today = ratelimit._token_key(9)
    monkeypatch.setattr(ratelimit, "_token_key", lambda user_id: today.replace(today[-10:], "2999-01-01"))
    assert llm_tokens_remaining(9) == 100


def test_concurrent_llm_charges_all_count(settings):
    settings.LLM_TOKENS_PER_USER_PER_DAY = 10**6

    def worker():
        for _ in range(50):
            llm_tokens_charge(11, 10)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert llm_tokens_remaining(11) == 10**6 - 8 * 50 * 10


# --- shared across processes (distributed mode) ------------------------------------------------------------------

OTHER_PROCESS = """
import sys, django
django.setup()
from django.conf import settings
settings.RATE_LIMIT_KEY_PREFIX = sys.argv[1]
from tutor.security.ratelimit import hit, llm_tokens_charge
print(hit("shared", 3, 10**7).count, llm_tokens_charge(5, 250))
"""


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL: counters are per process without Redis")
def test_counters_are_shared_across_processes_through_redis(settings):
    assert "Redis" in settings.CACHES["default"]["BACKEND"]
    settings.LLM_TOKENS_PER_USER_PER_DAY = 20000
    hit("shared", 3, LONG)
    hit("shared", 3, LONG)
    llm_tokens_charge(5, 1000)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tutor.settings", "LLM_TOKENS_PER_USER_PER_DAY": "20000"}
    result = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, settings.RATE_LIMIT_KEY_PREFIX],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    count, remaining = result.stdout.split()
    assert int(count) == 3  # the other process saw this one's two hits
    assert int(remaining) == 20000 - 1250
    assert not hit("shared", 3, LONG).allowed  # and this one sees the other's

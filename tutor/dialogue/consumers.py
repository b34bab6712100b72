"""The session WebSocket: ``/ws/sessions/<id>/?last_seq=N``.

Thin, like a view. The ASGI stack has already checked the Origin and loaded
the user; here we deny early (anonymous, or not allowed to see this session),
replay what the client missed, then turn each frame into one call of an
action in ``actions.py``. Every refusal is an ``error`` event that names what
was wrong; the socket stays open for the next frame, unless a service it
needs fails mid-frame (``websocket_receive``: ``unavailable``, then close 1013).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from redis.exceptions import RedisError

from tutor.accounts.permissions import can_post_in_session, can_view_session
from tutor.dialogue.actions import PostError, student_message_post
from tutor.dialogue.events import message_event, progress_of
from tutor.dialogue.models import Message, TutorSession
from tutor.dialogue.protocol import AckOut, ErrorOut
from tutor.security.ratelimit import chat_message_allowed

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_AGAIN_LATER = 1013  # a dependency failed mid-frame: reconnect and resend
log = logging.getLogger(__name__)


def _session_if_visible(user, session_id: int) -> TutorSession | None:
    session = TutorSession.objects.select_related("student", "problem").filter(pk=session_id).first()
    if session is None or not can_view_session(user, session):
        return None
    return session


def _missed_since(session: TutorSession, last_seq: int) -> list[dict]:
    messages = list(session.messages.filter(seq__gt=last_seq).select_related("reply_to").order_by("seq"))
    events = [dict(message_event(m)) for m in messages]
    if messages:
        events[-1]["progress"] = progress_of(messages[-1])
    return events


class SessionConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        session = await database_sync_to_async(_session_if_visible)(
            user, self.scope["url_route"]["kwargs"]["session_id"]
        )
        if session is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.session = session
        self.can_post = can_post_in_session(user, session)
        # The client has every seq up to `seen_floor`; `sent` holds what this
        # socket delivered since, so each message reaches the client once.
        self.seen_floor = _last_seq_param(self.scope.get("query_string", b""))
        self.sent: set[int] = set()
        await self.channel_layer.group_add(session.group_name, self.channel_name)
        await self.accept()
        # Join first, then replay: anything published meanwhile is either in
        # the replay or arrives after it, and `_send_message` drops repeats.
        for event in await database_sync_to_async(_missed_since)(session, self.seen_floor):
            await self._send_message(event)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "session"):
            await self.channel_layer.group_discard(self.session.group_name, self.channel_name)

    async def websocket_receive(self, message: dict) -> None:
        """``receive``, but a dependency that fails mid-frame (Redis, PostgreSQL) is said, not raised.

        The client gets an ``unavailable`` error and the socket closes with
        1013 (try again later): the browser reconnects with ``last_seq`` and
        resends what was not acked, and the client_id makes that resend safe
        whether or not the first try was stored. Raising would close the
        socket with 1011 and no word.
        """
        try:
            await super().websocket_receive(message)
        except (RedisError, DatabaseError, OSError) as exc:
            log.warning("session socket: a dependency failed mid-frame: %s: %s", type(exc).__name__, exc)
            try:
                await self._error(
                    "unavailable",
                    f"the server could not reach a service it needs ({type(exc).__name__}); "
                    "reconnect and send again: a message already stored is not stored twice",
                )
            finally:
                await self.close(code=CLOSE_TRY_AGAIN_LATER)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self._error("binary_not_supported", "send JSON text frames, not binary")
            return
        if len(text_data) > settings.FRAME_MAX_CHARS:
            await self._error(
                "frame_too_large", f"the frame is {len(text_data)} characters; the limit is {settings.FRAME_MAX_CHARS}"
            )
            return
        try:
            data = json.loads(text_data)
        except json.JSONDecodeError as exc:
            await self._error(
                "invalid_json", f"the frame is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            )
            return
        if not isinstance(data, dict):
            await self._error("invalid_event", "each frame must be a JSON object with a 'type'")
            return
        kind = data.get("type")
        if kind == "ping":
            await self.send(json.dumps({"type": "pong", "nonce": data.get("nonce")}))
        elif kind == "student_message":
            await self._post(data, text=data.get("text"), kind=Message.Kind.ANSWER)
        elif kind == "hint_request":
            await self._post(data, text="Can I have a hint?", kind=Message.Kind.HINT_REQUEST)
        else:
            await self._error(
                "unknown_type", f"unknown event type {kind!r}; expected student_message, hint_request or ping"
            )

    async def _post(self, data: dict, *, text, kind: str) -> None:
        client_id = data.get("client_id")
        if not self.can_post:
            await self._error("forbidden", "only the student who owns this session can send messages", client_id)
            return
        # Per socket and per user across sockets; a refused message is not stored.
        limited = await sync_to_async(chat_message_allowed)(self.scope["user"].pk, self.channel_name)
        if not limited.allowed:
            detail = (
                f"too many messages: the limit is {limited.limit} per {limited.window_s} s; "
                f"retry in {limited.retry_after_s} s"
            )
            await self._error("rate_limited", detail, client_id)
            return
        try:
            posted = await database_sync_to_async(student_message_post)(
                session=self.session, client_id=client_id, text=text, kind=kind
            )
        except PostError as exc:
            await self._error(exc.code, exc.detail, client_id)
            return
        message = posted.message
        ack: AckOut = {"type": "ack", "client_id": message.client_id, "seq": message.seq, "duplicate": posted.duplicate}
        await self.send(json.dumps(ack))
        if not posted.duplicate:
            # Every socket on the session (another tab, a watching teacher) sees it.
            await self.channel_layer.group_send(
                self.session.group_name, {"type": "session.message", "event": dict(message_event(message))}
            )

    # --- channel-layer handlers (``type`` "session.delta" / "session.message") ---
    async def session_delta(self, event: dict) -> None:
        await self.send(json.dumps(event["event"]))

    async def session_message(self, event: dict) -> None:
        await self._send_message(event["event"])

    async def _send_message(self, event: dict) -> None:
        seq = event["seq"]
        if seq <= self.seen_floor or seq in self.sent:
            return  # the client has it already (replay overlap)
        self.sent.add(seq)
        await self.send(json.dumps(event))

    async def _error(self, code: str, detail: str, client_id=None) -> None:
        event: ErrorOut = {"type": "error", "code": code, "detail": detail}
        if isinstance(client_id, str):
            event["client_id"] = client_id
        await self.send(json.dumps(event))


def _last_seq_param(query_string: bytes) -> int:
    values = parse_qs(query_string.decode("latin-1")).get("last_seq", ["0"])
    try:
        return max(0, int(values[0]))
    except ValueError:
        return 0

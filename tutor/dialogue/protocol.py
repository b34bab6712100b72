"""The shapes of everything that crosses a session's WebSocket.

Client -> server events carry a ``type``; so do server -> client events.
Channel-layer events between processes use the same payloads, with the
``type`` naming the consumer handler (``session.message``, ``session.delta``).
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


# --- client -> server -------------------------------------------------------
class StudentMessageIn(TypedDict):
    type: Literal["student_message"]
    client_id: str  # the browser's id for this message; a resend reuses it
    text: str


class HintRequestIn(TypedDict):
    type: Literal["hint_request"]
    client_id: str


class PingIn(TypedDict):
    type: Literal["ping"]
    nonce: NotRequired[str]


# --- server -> client -------------------------------------------------------
class AckOut(TypedDict):
    type: Literal["ack"]
    client_id: str
    seq: int
    duplicate: bool  # True when this client_id was already stored


class MessageOut(TypedDict):
    type: Literal["message"]
    seq: int
    role: str  # "student" | "tutor"
    kind: str
    text: str
    client_id: str | None
    reply_to: int | None  # seq of the student message a tutor message answers
    record: dict  # CLASS turn record (tutor messages)
    progress: NotRequired[dict]  # {"subproblem": i, "of": n, "done": bool}
    created_at: str


class DeltaOut(TypedDict):
    type: Literal["delta"]
    reply_to: int  # seq of the student message being answered
    index: int  # position of this delta in the stream, from 0
    text: str


class ErrorOut(TypedDict):
    type: Literal["error"]
    code: str  # machine-readable: invalid_json, message_too_long, ...
    detail: str  # human-readable, names what is wrong
    client_id: NotRequired[str]


class PongOut(TypedDict):
    type: Literal["pong"]
    nonce: NotRequired[str]

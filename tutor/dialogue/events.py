"""Turn stored messages into protocol events and publish them to a session.

Publishing goes through the channel layer to the session's group, so it
works the same from the web process (embedded mode) and from a Celery worker
on another machine (distributed mode).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from tutor.agents.record import STUDENT_VISIBLE_FIELDS
from tutor.dialogue.models import Message
from tutor.dialogue.protocol import DeltaOut, MessageOut

log = logging.getLogger(__name__)


def message_event(message: Message) -> MessageOut:
    """The wire form of a stored message. Answer keys never appear here."""
    event: MessageOut = {
        "type": "message",
        "seq": message.seq,
        "role": message.role,
        "kind": message.kind,
        "text": message.text,
        "client_id": message.client_id,
        "reply_to": message.reply_to.seq if message.reply_to_id else None,
        # Students' browsers get the labels, not the thoughts: see STUDENT_VISIBLE_FIELDS.
        "record": {k: message.record[k] for k in STUDENT_VISIBLE_FIELDS if k in message.record},
        "created_at": message.created_at.isoformat(),
    }
    return event


def progress_of(message: Message) -> dict:
    session = message.session
    count = session.problem.subproblems.count()
    return {"subproblem": session.subproblem_index, "of": count, "done": session.status == "done"}


_TOKEN = re.compile(r"\S+\s*|\s+")


def split_deltas(text: str) -> list[str]:
    """Word-sized pieces whose concatenation is exactly ``text``.

    >>> split_deltas("Not quite. Try 8")
    ['Not ', 'quite. ', 'Try ', '8']
    """
    return _TOKEN.findall(text)


def stream_pieces(text: str, paced: bool) -> list[str]:
    """Word by word when paced; otherwise at most UNPACED_MAX_DELTAS pieces.

    >>> stream_pieces("one two three four five six seven", paced=False)
    ['one two three ', 'four five six ', 'seven']
    """
    words = split_deltas(text)
    if paced or len(words) <= settings.UNPACED_MAX_DELTAS:
        return words
    size = -(-len(words) // settings.UNPACED_MAX_DELTAS)  # ceiling division
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


async def publish_replies(replies: list[dict], stream: bool = True) -> None:
    """Stream each reply as deltas, then send the stored message.

    ``replies`` are ``message_event`` dicts (built where the ORM is usable).
    Deltas are disposable; the final ``message`` event is the truth.
    """
    layer = get_channel_layer()
    delay = settings.TUTOR_STREAM_DELAY_MS / 1000
    for event in replies:
        group = f"session.{event['session_id']}"
        if stream and event["reply_to"] is not None and not event.get("streamed_live"):
            for index, piece in enumerate(stream_pieces(event["text"], paced=bool(delay))):
                delta: DeltaOut = {"type": "delta", "reply_to": event["reply_to"], "index": index, "text": piece}
                await layer.group_send(group, {"type": "session.delta", "event": delta})
                if delay:
                    await asyncio.sleep(delay)
        payload = {k: v for k, v in event.items() if k not in ("session_id", "streamed_live")}
        await layer.group_send(group, {"type": "session.message", "event": payload})


def reply_events(replies: list[Message]) -> list[dict]:
    """Events for freshly stored tutor replies, with the progress they leave."""
    out = []
    for message in replies:
        event = dict(message_event(message))
        event["progress"] = progress_of(message)
        event["session_id"] = message.session_id
        event["streamed_live"] = getattr(message, "streamed_live", False)
        out.append(event)
    return out


class LiveDeltas:
    """A reply's guarded pieces, sent to the session's group while the model is still writing.

    Pieces are coalesced into frames: the first piece goes at once (the
    student sees the first words as early as possible), later ones at most
    every ``TUTOR_DELTA_FRAME_MS``, and ``close()`` sends the rest once that
    interval has passed. So a reply makes at most generation time / frame
    interval + 1 channel-layer messages, however many tokens it has. Each
    attempt at a turn numbers its frames from 0, which tells the browser to
    start the streamed text afresh. Publishing is best effort: the stored
    message that follows the commit is the truth.

    Call it from a sync thread (a Celery worker, or ``database_sync_to_async``).
    """

    def __init__(self, session_id: int, reply_to: int) -> None:
        self.group = f"session.{session_id}"
        self.reply_to = reply_to
        self.interval = settings.TUTOR_DELTA_FRAME_MS / 1000
        self.frames = 0
        self._held: list[str] = []
        self._last = 0.0

    def __call__(self, piece: str) -> None:
        self._held.append(piece)
        if self.frames == 0 or time.monotonic() - self._last >= self.interval:
            self._send()

    def close(self) -> None:
        if not self._held:
            return
        wait = self._last + self.interval - time.monotonic()
        if self.frames and wait > 0:
            time.sleep(wait)
        self._send()

    def _send(self) -> None:
        text, self._held = "".join(self._held), []
        if not text:
            return
        delta: DeltaOut = {"type": "delta", "reply_to": self.reply_to, "index": self.frames, "text": text}
        try:
            async_to_sync(get_channel_layer().group_send)(self.group, {"type": "session.delta", "event": delta})
        except Exception:  # disposable: the stored message follows
            log.exception("could not publish a live delta to %s", self.group)
        self.frames += 1
        self._last = time.monotonic()

"""Turn stored messages into protocol events and publish them to a session.

Publishing goes through the channel layer to the session's group, so it
works the same from the web process (embedded mode) and from a Celery worker
on another machine (distributed mode).
"""

from __future__ import annotations

import asyncio
import re

from channels.layers import get_channel_layer
from django.conf import settings

from tutor.agents.record import STUDENT_VISIBLE_FIELDS
from tutor.dialogue.models import Message
from tutor.dialogue.protocol import DeltaOut, MessageOut


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
        if stream and event["reply_to"] is not None:
            for index, piece in enumerate(stream_pieces(event["text"], paced=bool(delay))):
                delta: DeltaOut = {"type": "delta", "reply_to": event["reply_to"], "index": index, "text": piece}
                await layer.group_send(group, {"type": "session.delta", "event": delta})
                if delay:
                    await asyncio.sleep(delay)
        payload = {k: v for k, v in event.items() if k != "session_id"}
        await layer.group_send(group, {"type": "session.message", "event": payload})


def reply_events(replies: list[Message]) -> list[dict]:
    """Events for freshly stored tutor replies, with the progress they leave."""
    out = []
    for message in replies:
        event = dict(message_event(message))
        event["progress"] = progress_of(message)
        event["session_id"] = message.session_id
        out.append(event)
    return out

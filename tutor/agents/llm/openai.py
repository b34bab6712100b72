"""A verbaliser backed by any OpenAI-compatible chat-completions server (vLLM, TGI, llama.cpp).

It speaks plain HTTP with the standard library: one POST to
``{base_url}/chat/completions`` with ``"stream": true``, then the server-sent
events (``data: {...}`` lines, ``data: [DONE]`` at the end) are read one line
at a time and each ``choices[0].delta.content`` is yielded as it arrives. No
client library is needed, and the module stays importable everywhere.

The whole reply has one deadline (``timeout_s``): the socket's timeout is
set to the time left before every read, so a server that stalls, or trickles
bytes, cannot hold a student's turn past it. Every failure becomes a
``BackendError`` naming the URL and the problem, and the pipeline falls back
to the scripted verbaliser. The API key goes in the ``Authorization`` header
and nowhere else: it is masked out of every error message.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from tutor.agents.backends import BackendError, VerbalRequest
from tutor.agents.llm.prompting import build_messages

BODY_PREVIEW = 200
MAX_JSON_BODY = 1 << 20
MAX_LINE = 1 << 20


@dataclass(frozen=True)
class OpenAIConfig:
    """Where the server is and how to ask it.

    ``base_url`` ends before ``/chat/completions``, e.g. ``http://127.0.0.1:8001/v1``.
    ``timeout_s`` bounds the whole reply, from connecting to the last event.
    """

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 15.0
    max_tokens: int = 160
    temperature: float = 0.3

    def __repr__(self) -> str:
        # Keep the key out of logs that print the config.
        key = "***" if self.api_key else None
        return (
            f"OpenAIConfig(base_url={self.base_url!r}, model={self.model!r}, api_key={key!r}, "
            f"timeout_s={self.timeout_s!r}, max_tokens={self.max_tokens!r}, temperature={self.temperature!r})"
        )


class OpenAIVerbaliser:
    """Words a tutor turn through an OpenAI-compatible server, streaming the reply."""

    name = "openai"

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        parts = urlsplit(config.base_url.rstrip("/") + "/chat/completions")
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {config.base_url!r}")
        self._parts = parts
        # The URL as errors show it: without any user:password part.
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def _fail(self, problem: str) -> BackendError:
        if self.config.api_key:
            problem = problem.replace(self.config.api_key, "***")
        return BackendError(f"OpenAI-compatible server at {self.url}: {problem}")

    def _payload(self, request: VerbalRequest) -> bytes:
        body = {
            "model": self.config.model,
            "messages": build_messages(request),
            "stream": True,
            "max_tokens": self.config.max_tokens,
            "temperature": self.config.temperature,
        }
        return json.dumps(body).encode("utf-8")

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    def stream(self, request: VerbalRequest) -> Iterator[str]:
        """Yield the reply's pieces in order; raise ``BackendError`` on any failure.

        Nothing is sent until the first piece is asked for.
        """
        deadline = time.monotonic() + self.config.timeout_s
        parts = self._parts
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(parts.hostname, parts.port, timeout=self.config.timeout_s)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            try:
                connection.request("POST", path, body=self._payload(request), headers=self._headers())
                self._set_timeout(connection, deadline)
                response = connection.getresponse()
            except TimeoutError:
                raise self._fail(f"timed out after {self.config.timeout_s:g}s") from None
            except OSError as error:  # refused, unreachable, reset, TLS
                raise self._fail(f"could not connect: {error}") from None
            except http.client.HTTPException as error:
                raise self._fail(f"bad HTTP response: {type(error).__name__}: {error}") from None

            if response.status != 200:
                raise self._fail(f"HTTP {response.status}: {self._preview(connection, response, deadline)}")
            content_type = response.getheader("Content-Type", "")
            if content_type.startswith("application/json"):
                # A server that ignored "stream": the whole reply in one body.
                yield self._whole_reply(connection, response, deadline)
                return
            yield from self._events(connection, response, deadline)
        finally:
            connection.close()

    def _set_timeout(self, connection: http.client.HTTPConnection, deadline: float) -> None:
        """Give the next socket operation only the time left before the deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._fail(f"timed out after {self.config.timeout_s:g}s")
        if connection.sock is not None:
            connection.sock.settimeout(remaining)

    def _read(self, read: Callable[[], bytes], connection: http.client.HTTPConnection, deadline: float) -> bytes:
        """One read of the response under the deadline, with errors said in words."""
        self._set_timeout(connection, deadline)
        try:
            return read()
        except TimeoutError:
            raise self._fail(f"timed out after {self.config.timeout_s:g}s") from None
        except (OSError, http.client.HTTPException) as error:
            raise self._fail(f"the connection broke: {type(error).__name__}: {error}") from None

    def _preview(self, connection: http.client.HTTPConnection, response, deadline: float) -> str:
        try:
            body = self._read(lambda: response.read(BODY_PREVIEW), connection, deadline)
        except BackendError:
            return "(no body)"
        return body.decode("utf-8", errors="replace").strip() or "(empty body)"

    def _whole_reply(self, connection: http.client.HTTPConnection, response, deadline: float) -> str:
        body = self._read(lambda: response.read(MAX_JSON_BODY), connection, deadline)
        try:
            content = json.loads(body)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise self._fail(f"unexpected JSON reply: {body[:BODY_PREVIEW].decode('utf-8', 'replace')}") from None
        if not isinstance(content, str) or not content.strip():
            raise self._fail("the reply had no content")
        return content

    def _events(self, connection: http.client.HTTPConnection, response, deadline: float) -> Iterator[str]:
        """Parse the event stream and yield the content deltas.

        Lines other than ``data:`` (comments, ``event:``, ``id:``, blank
        separators) are skipped, as the SSE format allows. Leading blank
        content is held back until real text arrives, so a reply of only
        whitespace counts as no reply.
        """
        held = ""
        spoke = False
        while True:
            raw = self._read(lambda: response.readline(MAX_LINE), connection, deadline)
            if not raw:
                break  # the server closed the stream without [DONE]
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line.startswith("data:"):
                continue
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                break
            piece = self._delta(data)
            if not piece:
                continue
            if not spoke and not piece.strip():
                held += piece
                continue
            spoke = True
            yield held + piece
            held = ""
        if not spoke:
            raise self._fail("the stream ended without any content")

    def _delta(self, data: str) -> str:
        """The text of one event: ``choices[0].delta.content``, or '' for role-only and usage events."""
        try:
            event = json.loads(data)
        except ValueError:
            raise self._fail(f"malformed event line (not JSON): {data[:BODY_PREVIEW]}") from None
        if not isinstance(event, dict):
            raise self._fail(f"malformed event (not an object): {data[:BODY_PREVIEW]}")
        if "error" in event:
            raise self._fail(f"error in stream: {json.dumps(event['error'])[:BODY_PREVIEW]}")
        choices = event.get("choices") or []
        if not choices or not isinstance(choices[0], dict):
            return ""
        content = (choices[0].get("delta") or {}).get("content")
        return content if isinstance(content, str) else ""

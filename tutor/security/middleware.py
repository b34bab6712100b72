"""Content Security Policy: one header on every response.

Django 5.2 has no CSP support of its own. The policy allows scripts only from
our own origin (``script-src 'self'``, no ``'unsafe-inline'``, no
``'unsafe-eval'``), so an injected ``<script>`` or ``onerror=`` attribute does
not run even if some output escaped the template's auto-escaping. Page data
reaches scripts in ``<script type="application/json">`` blocks
(``json_script``), which browsers never execute.

Styles: KaTeX, Cytoscape and Chart.js set element styles through the DOM
(``el.style.x = ...``), which CSP allows under ``style-src 'self'``; no
template has a ``style=`` attribute, so no ``'unsafe-inline'`` is needed. The
one exception is the ``<style>`` element Cytoscape inserts for its container,
allowed by its SHA-256 hash alone.
KaTeX's fonts are static files; ``data:`` covers the inline images a canvas
export makes. ``connect-src`` adds ``ws:``/``wss:`` for the session socket
(the ASGI stack refuses foreign Origins on its own).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` (``settings.CONTENT_SECURITY_POLICY``) unless a view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class InputCapsMiddleware:
    """Refuses a POST with any form field longer than ``settings.FORM_FIELD_MAX_CHARS``.

    One cap in front of every write endpoint, so no view can forget it; each
    action keeps its own, smaller limit with a friendlier message (a class
    name is at most 120 characters, a flag reason 1,000, ...). The whole body
    is capped by Django itself (``DATA_UPLOAD_MAX_MEMORY_SIZE``,
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS``; see ``tutor.security.views.bad_request``);
    uploaded files by their endpoint (curricula, rosters, transcripts).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            cap = settings.FORM_FIELD_MAX_CHARS
            for name, values in request.POST.lists():
                longest = max((len(v) for v in values), default=0)
                if longest > cap:
                    return input_too_large(
                        request, f"The field {name[:60]!r} is {longest} characters; the limit is {cap}."
                    )
        return self.get_response(request)


def input_too_large(request: HttpRequest, detail: str, status: int = 413) -> HttpResponse:
    """A plain answer naming the limit: a short HTML page, or JSON for a client that asks for it."""
    from django.http import JsonResponse
    from django.utils.html import escape

    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"error": "input_too_large", "detail": detail}, status=status)
    body = f"<!doctype html><title>Too large</title><h1>Too large</h1><p>{escape(detail)}</p>"
    return HttpResponse(body, status=status)

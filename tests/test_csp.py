"""Content Security Policy: the header on every response, and no page that
needs what it forbids (inline scripts, ``on*=`` handlers, ``javascript:`` URLs).

Two checks: every template file is read as text, and every page of the
authorization matrix (tests/test_authorization_matrix.py) is rendered as the
first persona allowed to see it and its HTML parsed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.test_authorization_matrix import HTTP, PERSONAS, Ctx, _world

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "frontend" / "templates").rglob("*.html")) + sorted(
    (ROOT / "tutor").rglob("templates/**/*.html")
)
DATA_TYPES = {"application/json", "application/ld+json"}


class InlineCode(HTMLParser):
    """Collects every inline executable script, event-handler attribute and ``javascript:`` URL."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False
        self._script_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name.lower() in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            kind = (attributes.get("type") or "").lower()
            self._in_script = "src" not in attributes and kind not in DATA_TYPES
            self._script_text = []

    def handle_data(self, data):
        if self._in_script:
            self._script_text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script:
            self.found.append(f"inline <script>: {''.join(self._script_text).strip()[:80]!r}")
            self._in_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_parser_catches_what_csp_would_block():
    found = inline_code(
        '<script>alert(1)</script><img src=x onerror="alert(1)"><a href="javascript:alert(1)">x</a>'
        '<script src="/static/js/chat.js"></script><script type="application/json" id="d">{"a": 1}</script>'
    )
    assert len(found) == 3, found


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_scripts_or_handlers(path):
    text = path.read_text()
    # Template tags are not HTML; drop them so the parser sees the markup around them.
    assert inline_code(re.sub(r"{%.*?%}|{{.*?}}", "", text, flags=re.S)) == []


def _first_allowed(expect: str) -> str | None:
    for persona, letter in zip(PERSONAS, expect, strict=True):
        if letter == "O" and persona != "anonymous":
            return persona
    return "anonymous" if expect[0] == "O" else None


PAGES = [
    pytest.param(row, persona, id=f"{row.name}{row.label}-{persona}")
    for row in HTTP
    if "GET" in row.expect and (persona := _first_allowed(row.expect["GET"]))
]


@pytest.mark.parametrize(("row", "persona"), PAGES)
def test_every_page_has_the_policy_and_no_inline_code(request, db, row, persona):
    _world(request)
    ctx = Ctx(request)
    client = Client()
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse(row.name, kwargs=row.kwargs(ctx)) + row.query, follow=True)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    if response["Content-Type"].startswith("text/html"):
        assert inline_code(response.content.decode()) == []


def test_the_login_page_answers_with_the_full_policy(client, settings):
    response = client.get("/login/")
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_only_style_hash_is_cytoscapes_container_stylesheet(settings):
    """Cytoscape inserts one ``<style>`` element; the policy allows exactly that text by its hash."""
    import base64
    import hashlib

    source = (ROOT / "frontend" / "node_modules" / "cytoscape" / "dist" / "cytoscape.min.js").read_text()
    assert '"__________cytoscape_container"' in source and '" { position: relative; }"' in source
    css = b".__________cytoscape_container { position: relative; }"
    digest = base64.b64encode(hashlib.sha256(css).digest()).decode()
    style_src = next(d for d in settings.CONTENT_SECURITY_POLICY.split("; ") if d.startswith("style-src"))
    assert style_src == f"style-src 'self' 'sha256-{digest}'"

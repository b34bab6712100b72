"""Hostile text in the chat, in a real browser: shown as text, maths rendered
with KaTeX's ``trust: false`` (no ``\\href`` to ``javascript:``, no
``\\htmlClass``), nothing runs, and the page keeps to its Content Security
Policy (the ``page`` fixture fails on any violation in the console)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_student_flow import DEMO_PROBLEM, INPUT_LABEL, log_in, open_problem, settled

pytestmark = pytest.mark.e2e

HOSTILE = (
    r"$\href{javascript:alert(1)}{click}$ and $\htmlClass{pwned}{x}$ and $\url{javascript:alert(2)}$ "
    "<img src=x onerror=alert(3)> <script>alert(4)</script>"
)


def test_hostile_chat_text_is_shown_as_text_and_never_runs(page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page)
    open_problem(page, DEMO_PROBLEM)
    box = page.get_by_label(INPUT_LABEL)
    box.fill(HOSTILE)
    box.press("Enter")
    mine = page.locator("#chat-log li.msg-student[data-seq]").last
    expect(mine).to_contain_text("<img src=x onerror=alert(3)>")  # the markup is text on screen
    settled(page)
    log = page.locator("#chat-log")
    expect(log.locator("img")).to_have_count(0)
    expect(log.locator("script")).to_have_count(0)
    expect(log.locator("a")).to_have_count(0)  # \href and \url are not rendered as links
    expect(log.locator(".pwned")).to_have_count(0)  # \htmlClass is refused
    expect(mine.locator(".katex")).to_have_count(3)  # KaTeX did render the maths...
    expect(mine).to_contain_text("\\htmlClass")  # ...showing each refused command by its name
    page.wait_for_timeout(300)
    assert dialogs == []
    # The CSP header is on the page itself.
    response = page.request.get(page.url)
    assert "script-src 'self'" in response.headers["content-security-policy"]

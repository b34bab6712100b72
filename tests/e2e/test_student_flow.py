"""A student's path through the demo, in a real browser against a real server.

alice logs in, opens "Add 3/4 and 1/8", answers wrongly (an authored
misconception, then an unmatched answer that earns the first hint), asks for
a hint, and solves the problem; the tutor's replies stream in word by word.
Each test opens a different problem, so they do not depend on their order.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e

PASSWORD = "tutorgraph-demo"
DEMO_PROBLEM = "Add 3/4 and 1/8"
INPUT_LABEL = "Your answer or question"

# A MutationObserver on the chat log that keeps, per streamed tutor item, each
# distinct text its body shows while it streams (li.streaming .body).
RECORD_STREAMS = """
() => {
  const log = document.getElementById("chat-log");
  const byItem = new Map();
  window.__streamSnapshots = [];
  new MutationObserver(() => {
    const li = log.querySelector("li.streaming");
    if (!li) return;
    const text = li.querySelector(".body").textContent;
    let snapshots = byItem.get(li);
    if (!snapshots) {
      snapshots = [];
      byItem.set(li, snapshots);
      window.__streamSnapshots.push(snapshots);
    }
    if (text && snapshots[snapshots.length - 1] !== text) snapshots.push(text);
  }).observe(log, { childList: true, subtree: true, characterData: true });
}
"""


def log_in(page: Page, username: str = "alice") -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/learn/$"))


def open_problem(page: Page, title: str) -> int:
    page.get_by_role("button", name=title, exact=True).click()
    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    expect(page.locator("#connection")).to_have_text("Connected")
    return int(re.search(r"/sessions/(\d+)/$", page.url).group(1))


def stored_items(page: Page) -> Locator:
    """Chat items the server has stored (a streaming item has no seq yet)."""
    return page.locator("#chat-log li[data-seq]")


def tutor_reply(page: Page, text: str) -> Locator:
    """Wait for the stored tutor message containing ``text`` and return it."""
    item = page.locator("#chat-log li.msg-tutor[data-seq]").filter(has_text=text)
    expect(item).to_have_count(1)
    expect(item).to_be_visible()
    return item


def answer(page: Page, text: str) -> None:
    """Type like a keyboard user: into the labelled textarea, then Enter."""
    box = page.get_by_label(INPUT_LABEL)
    box.press_sequentially(text)
    box.press("Enter")
    expect(page.locator("#chat-log li.msg-student[data-seq]").last.locator(".body")).to_have_text(text)


def settled(page: Page) -> None:
    """No reply is mid-stream."""
    expect(page.locator("#chat-log li.streaming")).to_have_count(0)


def test_alice_solves_the_demo_problem_with_a_hint_on_the_way(page: Page) -> None:
    log_in(page)
    open_problem(page, DEMO_PROBLEM)

    # The greeting is replayed from the server; the statement's maths is KaTeX.
    tutor_reply(page, "Let's work on this together.")
    expect(page.locator(".statement .katex").first).to_be_visible()
    expect(page.locator("#progress-text")).to_have_text("Step 1 of 3")

    page.evaluate(RECORD_STREAMS)

    # A wrong answer matching an authored misconception gets its feedback.
    misconception = (
        "Not quite. Adding the denominators does not give a common denominator: "
        "8 does not divide 12. Which number do both 4 and 8 divide?"
    )
    answer(page, "12")
    reply = tutor_reply(page, "Adding the denominators does not give a common denominator")
    settled(page)

    # That reply streamed in word by word, and the stored message replaced the stream.
    streams = page.evaluate("window.__streamSnapshots")
    assert len(streams) == 1, streams
    snapshots = streams[0]
    assert len(set(snapshots)) >= 3, snapshots
    for shorter, longer in zip(snapshots, snapshots[1:], strict=False):
        assert longer.startswith(shorter) and len(longer) > len(shorter), (shorter, longer)
    assert snapshots[-1] == misconception  # the deltas add up to the whole reply
    assert reply.locator(".body").text_content().startswith(snapshots[-1])

    # A wrong answer that matches no misconception gets the first authored hint.
    answer(page, "5")
    tutor_reply(page, "Not quite. Hint: Look for the smallest number that both 4 and 8 divide into evenly.")
    settled(page)

    answer(page, "8")
    tutor_reply(page, "Correct! Next: Rewrite")
    expect(page.locator("#progress-text")).to_have_text("Step 2 of 3")

    # The Hint button asks for the first hint of subproblem 2.
    page.get_by_role("button", name="Hint").click()
    tutor_reply(page, "Hint: To turn 4 into 8 you multiply by 2. Do the same to the numerator.")
    settled(page)

    answer(page, "6")
    tutor_reply(page, "Correct! Next: Now add")
    expect(page.locator("#progress-text")).to_have_text("Step 3 of 3")

    answer(page, "7/8")
    tutor_reply(page, "You have finished the problem. Well done!")
    expect(page.locator("#problem-status")).to_have_text("Problem done")
    expect(page.locator("#progress-text")).to_have_text("All 3 steps done")
    expect(page.get_by_label(INPUT_LABEL)).to_be_disabled()
    expect(page.get_by_role("button", name="Hint")).to_be_disabled()
    # Prompts with maths in tutor messages are rendered too.
    expect(page.locator("#chat-log li.msg-tutor .katex").first).to_be_visible()

    page.goto("/learn/")
    problem = page.locator(".problem-list li").filter(has=page.get_by_role("button", name=DEMO_PROBLEM, exact=True))
    expect(problem.locator(".badge")).to_have_text("Done")
    expect(page.get_by_role("button", name=DEMO_PROBLEM, exact=True)).to_have_accessible_description("Done")


def test_reload_replays_the_conversation(page: Page) -> None:
    log_in(page)
    session_id = open_problem(page, "Add 2/3 and 1/6")
    tutor_reply(page, "Let's work on this together.")

    answer(page, "9")
    tutor_reply(page, "6 does not divide 9")
    page.get_by_role("button", name="Hint").click()
    tutor_reply(page, "Hint: Is 6 a multiple of 3?")
    settled(page)
    expect(stored_items(page)).to_have_count(5)  # greeting, 9, feedback, hint request, hint
    before = stored_items(page).evaluate_all("items => items.map(li => li.dataset.seq)")

    page.reload()
    expect(page.locator("#connection")).to_have_text("Connected")
    expect(stored_items(page)).to_have_count(len(before))
    tutor_reply(page, "Hint: Is 6 a multiple of 3?")
    page.wait_for_timeout(300)  # a late duplicate would show up here
    after = stored_items(page).evaluate_all("items => items.map(li => li.dataset.seq)")
    assert after == before
    assert len(set(after)) == len(after)
    expect(page.locator("#chat-log > li")).to_have_count(len(before))

    # The page shows exactly what the server has stored, in order.
    transcript = page.request.get(f"/sessions/{session_id}/messages.json").json()
    assert [str(m["seq"]) for m in transcript["messages"]] == after


def test_chat_log_is_announced_to_screen_readers(page: Page) -> None:
    log_in(page)
    open_problem(page, "Add 1 1/2 and 2/5")
    tutor_reply(page, "Let's work on this together.")

    log = page.locator("#chat-log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log).to_have_accessible_name("Conversation with the tutor")

    textbox = page.get_by_role("textbox", name=INPUT_LABEL)
    expect(textbox).to_be_visible()
    expect(textbox).to_be_editable()
    expect(textbox).to_have_accessible_description(re.compile("Press Enter to send"))
    expect(page.get_by_role("status").filter(has_text="Step 1 of 2")).to_be_visible()

"""A student's path through the demo, in a real browser against a real server.

alice logs in, opens a fractions problem of the demo curriculum, answers
wrongly (an authored misconception, then an unmatched answer that earns the
first hint), asks for a hint, and solves the problem; the tutor's replies
stream in word by word. The expected texts come from the demo curriculum
file itself, so editing its wording does not break these tests. Each test
opens a different problem, so they do not depend on their order.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e

PASSWORD = "tutorgraph-demo"
INPUT_LABEL = "Your answer or question"
DEMO_FILE = Path(__file__).resolve().parents[2] / "tutor" / "curricula" / "demo" / "fractions.yaml"
PROBLEMS = {p["id"]: p for p in yaml.safe_load(DEMO_FILE.read_text())["problems"]}
DEMO = PROBLEMS["add-half-third"]
DEMO_PROBLEM = DEMO["title"]


def plain(text: str) -> str:
    """The part of an authored text before any $maths$ (KaTeX changes how the rest reads)."""
    return text.split("$")[0].strip()


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


def log_in_teacher(page: Page) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill("tess")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


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
    expect(page.locator("#progress-text")).to_have_text(f"Step 1 of {len(DEMO['subproblems'])}")

    page.evaluate(RECORD_STREAMS)

    subs = DEMO["subproblems"]
    first = subs[0]
    # A wrong answer matching an authored misconception gets its feedback.
    misconception = first["misconceptions"][0]
    answer(page, str(misconception["answer"]))
    reply = tutor_reply(page, plain(misconception["feedback"]))
    settled(page)

    # That reply streamed in word by word, and the stored message replaced the stream.
    streams = page.evaluate("window.__streamSnapshots")
    assert len(streams) == 1, streams
    snapshots = streams[0]
    assert len(set(snapshots)) >= 3, snapshots
    for shorter, longer in zip(snapshots, snapshots[1:], strict=False):
        assert longer.startswith(shorter) and len(longer) > len(shorter), (shorter, longer)
    assert snapshots[-1].endswith(misconception["feedback"])  # the deltas add up to the whole reply
    assert reply.locator(".body").text_content().startswith(plain(snapshots[-1]))

    # A wrong answer that matches no misconception gets the first authored hint.
    wrong = str(int(first["answer"]["value"]) + 1)
    assert wrong not in {str(m["answer"]) for m in first.get("misconceptions", [])}
    answer(page, wrong)
    tutor_reply(page, plain(first["hints"][0]))
    settled(page)

    answer(page, str(first["answer"]["value"]))
    tutor_reply(page, "Next: " + plain(subs[1]["question"]))
    expect(page.locator("#progress-text")).to_have_text(f"Step 2 of {len(subs)}")

    # The Hint button asks for the first hint of subproblem 2.
    page.get_by_role("button", name="Hint").click()
    tutor_reply(page, plain(subs[1]["hints"][0]))
    settled(page)

    for sub in subs[1:]:
        answer(page, str(sub["answer"]["value"]))
        settled(page)
    tutor_reply(page, "you have solved the whole problem")
    expect(page.locator("#problem-status")).to_have_text("Problem done")
    expect(page.locator("#progress-text")).to_have_text(f"All {len(subs)} steps done")
    expect(page.get_by_label(INPUT_LABEL)).to_be_disabled()
    expect(page.get_by_role("button", name="Hint")).to_be_disabled()
    # Prompts with maths in tutor messages are rendered too.
    expect(page.locator("#chat-log li.msg-tutor .katex").first).to_be_visible()

    page.goto("/learn/")
    problem = page.locator(".problem-list li").filter(has=page.get_by_role("button", name=DEMO_PROBLEM, exact=True))
    expect(problem.locator(".badge")).to_have_text("Done")
    expect(page.get_by_role("button", name=DEMO_PROBLEM, exact=True)).to_have_accessible_description("Done")


def test_reload_replays_the_conversation(page: Page) -> None:
    problem = PROBLEMS["add-like-sixths"]
    first = problem["subproblems"][0]
    hint = plain(first["hints"][0])
    log_in(page)
    session_id = open_problem(page, problem["title"])
    tutor_reply(page, "Let's work on this together.")

    answer(page, str(first["misconceptions"][0]["answer"]))
    tutor_reply(page, plain(first["misconceptions"][0]["feedback"]))
    page.get_by_role("button", name="Hint").click()
    tutor_reply(page, hint)
    settled(page)
    expect(stored_items(page)).to_have_count(5)  # greeting, answer, feedback, hint request, hint
    before = stored_items(page).evaluate_all("items => items.map(li => li.dataset.seq)")

    page.reload()
    expect(page.locator("#connection")).to_have_text("Connected")
    expect(stored_items(page)).to_have_count(len(before))
    tutor_reply(page, hint)
    page.wait_for_timeout(300)  # a late duplicate would show up here
    after = stored_items(page).evaluate_all("items => items.map(li => li.dataset.seq)")
    assert after == before
    assert len(set(after)) == len(after)
    expect(page.locator("#chat-log > li")).to_have_count(len(before))

    # The page shows exactly what the server has stored, in order.
    transcript = page.request.get(f"/sessions/{session_id}/messages.json").json()
    assert [str(m["seq"]) for m in transcript["messages"]] == after


def test_chat_log_is_announced_to_screen_readers(page: Page) -> None:
    problem = PROBLEMS["mixed-add"]
    log_in(page)
    open_problem(page, problem["title"])
    tutor_reply(page, "Let's work on this together.")

    log = page.locator("#chat-log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log).to_have_accessible_name("Conversation with the tutor")

    textbox = page.get_by_role("textbox", name=INPUT_LABEL)
    expect(textbox).to_be_visible()
    expect(textbox).to_be_editable()
    expect(textbox).to_have_accessible_description(re.compile("Press Enter to send"))
    steps = len(problem["subproblems"])
    expect(page.get_by_role("status").filter(has_text=f"Step 1 of {steps}")).to_be_visible()


def test_show_me_the_answer_gets_hints_until_the_policy_allows_the_solution(page: Page) -> None:
    problem = PROBLEMS["pizza-eighths"]
    first = problem["subproblems"][0]
    log_in(page)
    open_problem(page, problem["title"])
    tutor_reply(page, "Let's work on this together.")

    # Three requests (the curriculum's max_attempts) are answered with the hint ladder...
    for n, hint in enumerate([*first["hints"], first["hints"][-1]][:3]):
        answer(page, "show me the answer" if n % 2 == 0 else "just tell me the answer please")
        reply = page.locator("#chat-log li.msg-tutor[data-seq]").last
        expect(reply).to_contain_text(plain(hint))
        expect(reply).to_have_attribute("data-action", "8")
        settled(page)
    # ...and the fourth gets the subproblem's solution, and the next step.
    answer(page, "show me the answer")
    reply = tutor_reply(page, plain(first["solution"]))
    expect(reply).to_have_attribute("data-action", "9")
    expect(page.locator("#progress-text")).to_have_text(f"Step 2 of {len(problem['subproblems'])}")


def test_teacher_reads_the_transcript_with_each_turns_labels(page: Page) -> None:
    problem = PROBLEMS["number-line-thirds"]
    first = problem["subproblems"][0]
    log_in(page)
    session_id = open_problem(page, problem["title"])
    tutor_reply(page, "Let's work on this together.")
    answer(page, str(first["misconceptions"][0]["answer"]))
    tutor_reply(page, plain(first["misconceptions"][0]["feedback"]))
    settled(page)
    page.context.clear_cookies()

    log_in_teacher(page)
    page.goto("/teach/")
    page.get_by_role("link", name="Grade 5 Maths").click()
    page.get_by_role("link", name=f"Transcript of alice on {problem['title']}").first.click()
    expect(page).to_have_url(re.compile(rf"/sessions/{session_id}/transcript/$"))
    turn = page.locator("tr.turn.tutor").filter(has_text=plain(first["misconceptions"][0]["feedback"]))
    expect(turn.locator(".label-evaluation")).to_have_text("a: incorrect")
    expect(turn.locator(".label-action")).to_have_text("1: point out the mistake and hint")
    expect(turn.locator(".label-state")).to_have_text("x: working on the current subproblem")
    expect(turn.locator(".label-misconception")).to_have_text(first["misconceptions"][0]["id"])
    expect(turn.locator(".label-guard")).to_have_text("passed")

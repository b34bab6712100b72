"""Coaching in a real browser: two students share a misconception, tess reads the dashboard and acts on it.

alice and bob each answer the first step of "Shaded strips" with the same
authored misconception. tess opens her class, follows the one link to the
class dashboard, sees the mastery heatmap (with bands in words, sortable)
and a small-group recommendation naming both students, then drills into
bob's transcript and flags a tutor turn. Expected texts come from the demo
curriculum file; the class also holds load_demo's classmates and their history.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.e2e.test_student_flow import answer, log_in, log_in_teacher, open_problem, plain, settled, tutor_reply
from tutor.accounts.management.commands.load_demo import DEMO_CLASSMATES

pytestmark = pytest.mark.e2e

DEMO_FILE = Path(__file__).resolve().parents[2] / "tutor" / "curricula" / "demo" / "fractions.yaml"
PROBLEM = next(p for p in yaml.safe_load(DEMO_FILE.read_text())["problems"] if p["id"] == "area-model-fifths")
MISCONCEPTION = PROBLEM["subproblems"][0]["misconceptions"][0]


def show_the_misconception(page: Page, username: str) -> None:
    log_in(page, username)
    open_problem(page, PROBLEM["title"])
    tutor_reply(page, "Let's work on this together.")
    answer(page, str(MISCONCEPTION["answer"]))
    tutor_reply(page, plain(MISCONCEPTION["feedback"]))
    settled(page)
    page.context.clear_cookies()


def test_tess_sees_the_heatmap_and_a_small_group_recommendation(page: Page) -> None:
    show_the_misconception(page, "alice")
    show_the_misconception(page, "bob")

    log_in_teacher(page)
    page.goto("/teach/")
    page.get_by_role("link", name="Grade 5 Maths").click()
    page.get_by_role("link", name=re.compile(r"^Class dashboard")).click()
    expect(page).to_have_url(re.compile(r"/teach/classes/\d+/coaching/$"))

    heatmap = page.locator("#heatmap")
    expect(heatmap).to_be_visible()
    # alice, bob and load_demo's classmates (who bring the demo history: groups, stuck, inactive).
    expect(heatmap.locator("tbody tr")).to_have_count(2 + len(DEMO_CLASSMATES))
    expect(heatmap.locator("tbody th").first).to_contain_text("Alice")
    expect(heatmap).to_contain_text("weak")
    # Sortable: sorting by name descending puts the alphabetically last classmate first.
    last = max(f"{first} {family}" for _, first, family, *_ in DEMO_CLASSMATES)
    student_header = heatmap.get_by_role("button", name="Student")
    student_header.click()
    student_header.click()
    expect(heatmap.locator("tbody th").first).to_contain_text(last)
    expect(page.locator("#attention")).to_contain_text("bottom-out solutions")

    group = page.locator("#recommendations li").filter(has_text=f"misconception “{MISCONCEPTION['id']}”")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("Alice Adams, Bob Brown")
    expect(group).to_contain_text("Next step")
    # The charts come from Chart.js (npm), drawn beside their text tables.
    assert page.evaluate("typeof Chart") == "function"
    expect(page.locator("#chart-activity")).to_be_visible()

    # Any table exports as CSV.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export recommendations (CSV)").click()
    assert Path(download.value.path()).read_text().startswith("kind,title,students")

    # Drill into bob, open his transcript, flag the tutor's turn.
    heatmap.get_by_role("link", name="Bob Brown").click()
    expect(page.get_by_role("heading", name=re.compile("Bob Brown"))).to_be_visible()
    page.get_by_role("link", name=f"Transcript with labels: {PROBLEM['title']}").first.click()
    turn = page.locator("tr.turn.tutor").filter(has_text=plain(MISCONCEPTION["feedback"]))
    expect(turn).to_contain_text(MISCONCEPTION["id"])
    turn.get_by_role("textbox").fill("The feedback should ask how the strip was split first")
    turn.get_by_role("button", name=re.compile("^Flag turn")).click()
    expect(page.locator(".flash")).to_contain_text("next training round")
    expect(page.locator("tr.turn.tutor").filter(has_text=plain(MISCONCEPTION["feedback"]))).to_contain_text(
        "Flagged: The feedback should ask"
    )

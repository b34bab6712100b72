"""A full self-regulated learning cycle in a real browser.

alice opens "Study sessions", starts one in Fractions, first writes a vague
goal ("do better") and gets a follow-up question instead of acceptance, then
writes a SMART goal on Simplest form. She opens a problem on that concept,
thinks for a few seconds, solves the first step, answers the panel's check-in
("How sure are you of that step?") and reads the calibration feedback. She
finishes the session, reflects, and sees the depth feedback, the summary,
her XP, level, streak and the "First SMART goal" badge.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.e2e.test_student_flow import INPUT_LABEL, log_in

pytestmark = pytest.mark.e2e

DEMO_FILE = Path(__file__).resolve().parents[2] / "tutor" / "curricula" / "demo" / "fractions.yaml"
PROBLEMS = {p["title"]: p for p in yaml.safe_load(DEMO_FILE.read_text())["problems"]}
CONCEPT, CONCEPT_NAME = "frac.simplify", "Simplest form"


def fill_goal(page: Page, text: str) -> None:
    page.get_by_role("checkbox", name=re.compile(rf"^{CONCEPT_NAME}")).check()
    page.get_by_label("Your goal for this session").fill(text)
    page.get_by_label("Practise problems").check()
    page.get_by_role("radio", name="4", exact=True).check()
    page.get_by_role("button", name="Check my goal").click()


def test_alice_sets_a_smart_goal_checks_in_reflects_and_sees_xp_and_a_badge(page: Page) -> None:
    log_in(page)
    page.get_by_role("link", name=re.compile(r"^Study sessions")).click()
    expect(page.locator("#srl-xp")).to_contain_text("XP")
    page.get_by_role("button", name="Start a study session in Fractions").click()
    expect(page).to_have_url(re.compile(r"/learn/srl/sessions/\d+/$"))
    study_url = page.url

    # Forethought: a vague goal gets a follow-up question, not acceptance.
    fill_goal(page, "do better")
    expect(page.locator("#goal-follow-up")).to_contain_text("Which topic will you work on?")
    expect(page.get_by_role("button", name="Check my goal")).to_be_visible()
    fill_goal(page, "Solve 1 simplest form problem in 20 minutes")
    expect(page.locator(".flash")).to_contain_text("Goal set")
    expect(page.locator("#study-progress-text")).to_have_text("0 of 1 problem solved")
    expect(page.locator("#srl-timer")).to_contain_text("Time: 0:")

    # Performance: a problem on the goal's concept, one step solved after thinking, a check-in.
    button = page.locator(".problem-list button").first
    title = button.inner_text()
    problem = PROBLEMS[title]
    assert CONCEPT in problem["concepts"]
    button.click()
    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    expect(page.locator("#connection")).to_have_text("Connected")
    panel = page.locator("#srl-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Solve 1 simplest form problem")
    step = int(re.search(r"Step (\d+)", page.locator("#progress-text").inner_text()).group(1))
    page.wait_for_timeout(5500)  # think first: answers under 5 s earn no XP
    box = page.get_by_label(INPUT_LABEL)
    box.fill(str(problem["subproblems"][step - 1]["answer"]["value"]))
    box.press("Enter")
    checkin = page.locator("#srl-checkin")
    expect(checkin).to_be_visible(timeout=15_000)
    checkin.get_by_label("4").check()
    checkin.get_by_role("button", name="Check in").click()
    expect(page.locator("#srl-feedback")).to_contain_text("% success here")
    expect(checkin).to_be_hidden()

    # Self-reflection, then the summary and the game.
    page.goto(study_url)
    page.get_by_role("button", name="Finish the session and reflect").click()
    page.get_by_label("What worked? Which strategy helped?").fill("Checking each step with the common factor helped")
    page.get_by_label("What was hard, and why?").fill("Finding the greatest common factor")
    page.get_by_label("What will you change next time?").fill("Next time I will write the factors down first")
    page.get_by_role("button", name="Submit my reflection").click()
    expect(page.locator("#reflection-feedback")).to_contain_text("depth 3 of 3")
    expect(page.locator("#session-summary")).to_contain_text("Time on task")
    xp = int(re.search(r"(\d+) XP", page.locator("#srl-xp").inner_text()).group(1))
    assert xp >= 5 + 2 + 15  # SMART goal, check-in, a deep reflection
    expect(page.locator("#srl-level")).to_contain_text("Level")
    expect(page.locator("#srl-streak")).to_contain_text("Streak: 1 day")
    expect(page.locator("#srl-badges li.earned")).to_contain_text(["First SMART goal"])

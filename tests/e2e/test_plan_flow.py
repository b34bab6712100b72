"""A student's learning plan in a real browser: set two goals, read the plan, solve its first problem, see it move.

alice opens "My plan" for the demo fractions curriculum, picks two goals,
reads the path (list and graph) with its reasons, starts the planned problem
with one click, answers every step correctly (the answers come from the demo
curriculum file, as in ``test_student_flow``), and on the plan page again sees
that the plan has moved on: the tutor logged a new next-problem decision, the
solved problem is no longer the next step and the concept's mastery rose.
Everything is read from the pages, so earlier tests that used alice do not
matter.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.e2e.test_student_flow import INPUT_LABEL, answer, log_in, settled

pytestmark = pytest.mark.e2e

DEMO_FILE = Path(__file__).resolve().parents[2] / "tutor" / "curricula" / "demo" / "fractions.yaml"
DEMO = yaml.safe_load(DEMO_FILE.read_text())
PROBLEMS_BY_TITLE = {p["title"]: p for p in DEMO["problems"]}
CONCEPTS = {c["id"]: c["name"] for c in DEMO["concepts"]}
GOALS = ["frac.equivalent", "frac.add-like"]


def answer_text(sub: dict) -> str:
    return str(sub["answer"]["value"])


def next_button(page: Page):
    return page.locator("#next-button")


def current_step(page: Page):
    return page.locator("#plan-steps li[data-status=current]")


def mastery_of(page: Page, concept: str) -> int:
    row = page.locator(f"#plan-steps li[data-concept='{concept}']")
    return int(re.search(r"mastery (\d+)%", row.inner_text()).group(1))


def test_alice_sets_two_goals_works_the_first_problem_and_sees_the_plan_update(page: Page) -> None:
    log_in(page)
    page.get_by_role("link", name=re.compile(r"^My plan in Fractions")).click()
    expect(page).to_have_url(re.compile(r"/learn/plan/\d+/$"))
    plan_url = page.url

    for concept in GOALS:
        page.get_by_label("Add a goal").select_option(concept)
        page.get_by_role("button", name="Add goal").click()
        expect(page.locator(".flash")).to_contain_text(f"New goal: {CONCEPTS[concept]}.")
    goals = page.locator(".goal-list li")
    for concept in GOALS:
        expect(goals.filter(has_text=CONCEPTS[concept])).to_contain_text("planned")

    # The plan: steps in order with their status in words, reasons, the graph, and one next step.
    expect(page.locator(".plan-graph")).to_have_attribute("data-ready", "true")
    expect(page.locator("#plan-graph-canvas canvas").first).to_be_visible()
    expect(current_step(page)).to_have_count(1)
    expect(current_step(page)).to_contain_text("working on it now")
    expect(page.locator("#plan-steps")).to_contain_text("Why: your goal")
    for concept in GOALS:
        expect(page.locator(f"#plan-steps li[data-concept='{concept}']")).to_contain_text("(goal)")
    concept = current_step(page).get_attribute("data-concept")
    before = mastery_of(page, concept)
    expect(page.locator("#next-reason")).to_contain_text(f"Next: {CONCEPTS[concept]} because goal")
    title = next_button(page).inner_text().removeprefix("Start: ")
    problem = PROBLEMS_BY_TITLE[title]
    assert concept in problem["concepts"]
    expect(page.locator("#decision-log")).to_contain_text("Plan changed")
    decisions_before = page.locator("#decision-log tr.decision-next_problem").count()

    # One click opens the problem's session; answer every remaining step correctly.
    next_button(page).click()
    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    expect(page.locator("#connection")).to_have_text("Connected")
    expect(page.locator("#next-step-after-session")).to_be_hidden()
    subs = problem["subproblems"]
    at = int(re.search(r"Step (\d+) of", page.locator("#progress-text").inner_text()).group(1)) - 1
    for sub in subs[at:]:
        answer(page, answer_text(sub))
        settled(page)
    expect(page.locator("#problem-status")).to_have_text("Problem done")
    expect(page.get_by_label(INPUT_LABEL)).to_be_disabled()

    # The session page now points to the plan, which has moved on.
    what_next = page.locator("#next-step-after-session")
    expect(what_next).to_be_visible()
    what_next.get_by_role("link", name=re.compile("My plan")).click()
    expect(page).to_have_url(plan_url)
    expect(page.locator("#decision-log tr.decision-next_problem")).to_have_count(decisions_before + 1)
    expect(page.locator("#decision-log tr.decision-next_problem").first).to_contain_text("next: ")
    expect(next_button(page)).not_to_have_text(f"Start: {title}")
    after_row = page.locator(f"#plan-steps li[data-concept='{concept}']")
    if after_row.count():  # still on the path: its mastery rose; else it is mastered and gone from the steps
        assert mastery_of(page, concept) > before

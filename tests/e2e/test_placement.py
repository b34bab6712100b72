"""Alice takes the adaptive placement test in a real browser, to the end, and her teacher sees the result."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

PASSWORD = os.environ.get("DEMO_PASSWORD", "tutorgraph-demo")
MAX_QUESTIONS = 15


def log_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def test_alice_takes_the_placement_test_to_the_end(page: Page) -> None:
    log_in(page, "alice")
    page.get_by_role("link", name="Placement test in Fractions: from equivalence to operations").click()
    expect(page.get_by_role("heading", name=re.compile("Placement test"))).to_be_visible()
    page.get_by_role("button", name="Start the placement test").click()

    submit = page.get_by_role("button", name="Submit answer")
    for number in range(1, MAX_QUESTIONS + 2):
        if not submit.is_visible():
            break
        expect(page.locator("#placement-progress")).to_contain_text(f"Question {number} of at most {MAX_QUESTIONS}")
        options = page.get_by_role("radio")
        if options.count():
            options.first.check()  # options are shuffled: sometimes right, sometimes not
        else:
            page.get_by_label("Your answer").fill("1/2")
        submit.click()
        expect(page.get_by_role("heading", name=re.compile("Placement test"))).to_be_visible()
    else:
        raise AssertionError("the placement test never ended")

    result = page.locator("#placement-result")
    expect(result).to_contain_text(re.compile(r"Your level: -?\d+\.\d\d ± \d\.\d\d"))
    expect(page.locator("#placement-reading")).to_contain_text("better than")
    theta_se = re.search(r"(-?\d+\.\d\d) ± (\d\.\d\d)", result.inner_text()).group(0)

    # Her teacher reads the same theta ± SE on the class's abilities page.
    page.context.clear_cookies()
    log_in(page, "tess")
    page.goto("/teach/")
    page.get_by_role("link", name=re.compile("Grade 5 Maths")).first.click()
    page.get_by_role("link", name=re.compile("Abilities")).click()
    expect(page.get_by_role("row", name=re.compile("alice"))).to_contain_text(theta_se)

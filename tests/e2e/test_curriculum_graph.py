"""A teacher explores a demo curriculum's concept graph in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_student_flow import PASSWORD

pytestmark = pytest.mark.e2e


def test_teacher_finds_a_concept_and_reads_its_prerequisites(page: Page) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill("tess")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Curricula").click()
    page.get_by_role("link", name=re.compile(r"View graph of Fractions")).click()
    expect(page.locator(".graph-view")).to_have_attribute("data-ready", "true")
    expect(page.locator("#graph-canvas canvas").first).to_be_visible()  # Cytoscape drew it

    page.get_by_label("Find a concept").fill("frac.add-unlike")
    expect(page.locator("#graph-search-status")).to_have_text("1 concept match")
    detail = page.locator("#concept-detail")
    expect(detail).to_contain_text("Id: frac.add-unlike")
    expect(detail).to_contain_text("Needs:")
    expect(detail).not_to_contain_text("Needs: nothing")
    expect(page.get_by_role("button", name="Show the whole graph")).to_be_visible()

    # The list offers the same concepts to keyboard and screen-reader users.
    page.get_by_text("All concepts as a list").click()
    page.locator("#concept-list").get_by_role("button").first.click()
    expect(detail.locator("h3")).to_be_visible()

"""Every dashboard table exports as CSV, with the same rows the page shows, for the class's teacher only."""

from __future__ import annotations

import csv
import io

import pytest

from tests.coaching_data import work
from tests.conftest import login
from tutor.coaching.views import CSV_TABLES

pytestmark = pytest.mark.django_db


def csv_of(client, classroom, table: str) -> list[list[str]]:
    response = client.get(f"/teach/classes/{classroom.pk}/coaching/{table}.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f"{table}-class-{classroom.pk}.csv" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_every_table_exports_with_its_rows(client, tess, alice, bob, demo_problem, tess_class):
    work(alice, demo_problem, ["12"])
    work(bob, demo_problem, ["12"])
    login(client, tess)
    tables = {t: csv_of(client, tess_class, t) for t in CSV_TABLES}
    assert tables["misconceptions"][1][:3] == ["sum-of-denominators", "2", "Alice; Bob"]
    assert any(row[0] == "group" and row[2] == "Alice; Bob" for row in tables["recommendations"][1:])
    assert [row[0] for row in tables["mastery"][1:]] == ["alice", "bob"]
    assert tables["abilities"][0] == ["name", "theta", "se", "responses"]
    assert tables["attention"][0] == ["username", "reason", "evidence"]


def test_unknown_table_is_404(client, tess, tess_class):
    assert login(client, tess).get(f"/teach/classes/{tess_class.pk}/coaching/passwords.csv").status_code == 404


@pytest.mark.parametrize("table", CSV_TABLES)
def test_teacher_cannot_export_other_class_table(client, trent, tess_class, table):
    assert login(client, trent).get(f"/teach/classes/{tess_class.pk}/coaching/{table}.csv").status_code == 404

"""Every coaching report URL: the class's teacher and admins get it; another teacher, students and outsiders a 404."""

from __future__ import annotations

import pytest

from tests.coaching_data import say
from tests.conftest import login
from tutor.coaching.views import CSV_TABLES

pytestmark = pytest.mark.django_db


@pytest.fixture
def report_urls(tess_class, alice, alice_session):
    say(alice_session, "12")
    c = tess_class.pk
    return [
        f"/teach/classes/{c}/coaching/",
        *[f"/teach/classes/{c}/coaching/{table}.csv" for table in CSV_TABLES],
        f"/teach/classes/{c}/coaching/misconceptions/",
        f"/teach/classes/{c}/coaching/students/{alice.pk}/",
        f"/teach/coaching/sessions/{alice_session.pk}/",
    ]


@pytest.mark.parametrize("who", ["trent", "mallory", "alice", "bob"])
def test_only_the_class_teacher_and_admins_see_any_report(client, request, report_urls, who):
    user = request.getfixturevalue(who)
    login(client, user)
    for url in report_urls:
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("who", ["tess", "adam"])
def test_class_teacher_and_admin_see_every_report(client, request, report_urls, who):
    login(client, request.getfixturevalue(who))
    for url in report_urls:
        assert client.get(url).status_code == 200, url


def test_unknown_class_is_404_for_its_would_be_teacher(client, tess, tess_class):
    assert login(client, tess).get("/teach/classes/99999/coaching/").status_code == 404


def test_curriculum_the_class_does_not_use_is_404(client, tess, tess_class):
    assert login(client, tess).get(f"/teach/classes/{tess_class.pk}/coaching/?curriculum=99999").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, report_urls):
    for url in report_urls:
        assert client.get(url).status_code == 302, url

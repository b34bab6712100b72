"""The weekly class leaderboard: off by default, opt-in per student, class-scoped, a teacher's switch."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.conftest import _user, login
from tutor.srl.actions import SrlError, class_game_set, class_leaderboard_set, leaderboard_opt_set, xp_award
from tutor.srl.models import ClassGameSetting, SrlEvent
from tutor.srl.selectors import class_leaderboard, leaderboards_for, week_start


def grant(student, key: str, xp: int, days_ago: int = 0) -> None:
    event, _ = xp_award(student=student, key=key, kind="turn", xp=xp, reason="step solved on your own")
    if days_ago:
        SrlEvent.objects.filter(pk=event.pk).update(created_at=event.created_at - timedelta(days=days_ago))


@pytest.fixture
def carol(tess_class):
    """A classmate who never opts in."""
    user = _user("carol", "student", first_name="Carol")
    tess_class.students.add(user)
    return user


@pytest.fixture
def board_on(tess, tess_class):
    return class_leaderboard_set(by=tess, classroom=tess_class, leaderboard_on=True)


def test_the_leaderboard_is_off_by_default(client, alice, bob, tess_class):
    leaderboard_opt_set(student=alice, classroom=tess_class, opt_in=True)
    leaderboard_opt_set(student=bob, classroom=tess_class, opt_in=True)
    grant(bob, "b1", 10)
    assert not ClassGameSetting.objects.filter(classroom=tess_class, leaderboard_on=True).exists()
    assert leaderboards_for(alice) == []
    login(client, alice)
    page = client.get("/learn/srl/").content.decode()
    assert "Weekly leaderboard" not in page and "Bob" not in page


def test_only_opted_in_classmates_are_listed_and_ranked_by_this_weeks_xp(alice, bob, carol, tess_class, board_on):
    leaderboard_opt_set(student=alice, classroom=tess_class, opt_in=True)
    leaderboard_opt_set(student=bob, classroom=tess_class, opt_in=True)
    grant(alice, "a1", 10)
    grant(bob, "b1", 10)
    grant(bob, "b2", 6)
    grant(carol, "c1", 50)  # not opted in: never listed, however much XP
    grant(alice, "a-old", 100, days_ago=8)  # last week's XP does not count: the board resets every Monday
    board = class_leaderboard(tess_class, alice)
    assert [(r["rank"], r["name"], r["xp"]) for r in board.rows] == [(1, "Bob", 16), (2, "Alice", 10)]
    assert board.opted_in and board.own_rank == 2 and board.own_xp == 10


def test_a_student_who_did_not_opt_in_sees_only_their_own_weekly_xp(client, alice, bob, carol, tess_class, board_on):
    leaderboard_opt_set(student=alice, classroom=tess_class, opt_in=True)
    grant(alice, "a1", 10)
    grant(carol, "c1", 6)
    board = class_leaderboard(tess_class, carol)
    assert not board.opted_in and board.rows == [] and board.own_xp == 6 and board.own_rank is None
    login(client, carol)
    page = client.get("/learn/srl/").content.decode()
    assert "Your XP this week: <strong>6</strong>" in page and "Join the leaderboard" in page
    assert "Alice" not in page


def test_opting_in_and_out_through_the_page(client, alice, bob, tess_class, board_on):
    leaderboard_opt_set(student=bob, classroom=tess_class, opt_in=True)
    login(client, alice)
    response = client.post(f"/learn/srl/leaderboard/{tess_class.pk}/", {"opt_in": "1"})
    assert response.status_code == 302
    page = client.get("/learn/srl/").content.decode()
    assert "Bob" in page and "Alice (you)" in page and "Leave the leaderboard" in page
    client.post(f"/learn/srl/leaderboard/{tess_class.pk}/", {"opt_in": "0"})
    assert not class_leaderboard(tess_class, alice).opted_in
    assert "Bob" not in client.get("/learn/srl/").content.decode()


def test_other_classes_are_never_shown(alice, mallory, tess, trent, tess_class, trent_class, board_on):
    class_leaderboard_set(by=trent, classroom=trent_class, leaderboard_on=True)
    leaderboard_opt_set(student=alice, classroom=tess_class, opt_in=True)
    leaderboard_opt_set(student=mallory, classroom=trent_class, opt_in=True)
    grant(mallory, "m1", 10)
    boards = leaderboards_for(alice)
    assert [b.classroom for b in boards] == [tess_class]
    assert [r["name"] for r in boards[0].rows] == ["Alice"]
    with pytest.raises(SrlError):  # a student cannot put themselves on another class's board
        leaderboard_opt_set(student=alice, classroom=trent_class, opt_in=True)


def test_a_student_who_left_the_class_drops_off_the_board(alice, bob, tess_class, board_on):
    leaderboard_opt_set(student=alice, classroom=tess_class, opt_in=True)
    leaderboard_opt_set(student=bob, classroom=tess_class, opt_in=True)
    tess_class.students.remove(bob)
    assert [r["name"] for r in class_leaderboard(tess_class, alice).rows] == ["Alice"]


def test_no_leaderboard_while_the_game_is_off(alice, tess, tess_class, board_on):
    leaderboard_opt_set(student=alice, classroom=tess_class, opt_in=True)
    class_game_set(by=tess, classroom=tess_class, game_on=False)
    assert leaderboards_for(alice) == []


def test_the_teachers_switch_sits_next_to_the_game_switch(client, tess, alice, tess_class):
    login(client, tess)
    page = client.get(f"/teach/classes/{tess_class.pk}/srl/").content.decode()
    assert 'name="leaderboard_on" value="0" checked' in page and 'name="game_on" value="1" checked' in page
    response = client.post(f"/teach/classes/{tess_class.pk}/srl/", {"game_on": "1", "leaderboard_on": "1"})
    assert response.status_code == 302
    setting = ClassGameSetting.objects.get(classroom=tess_class)
    assert setting.leaderboard_on and setting.game_on
    client.post(f"/teach/classes/{tess_class.pk}/srl/", {"game_on": "0"})  # one switch never flips the other
    setting.refresh_from_db()
    assert setting.leaderboard_on and not setting.game_on
    client.post(f"/teach/classes/{tess_class.pk}/srl/", {"leaderboard_on": "0"})
    setting.refresh_from_db()
    assert not setting.leaderboard_on and not setting.game_on


def test_other_users_get_a_404(client, trent, mallory, tess_class, board_on):
    login(client, trent)
    assert client.post(f"/teach/classes/{tess_class.pk}/srl/", {"leaderboard_on": "0"}).status_code == 404
    assert ClassGameSetting.objects.get(classroom=tess_class).leaderboard_on
    login(client, mallory)
    assert client.post(f"/learn/srl/leaderboard/{tess_class.pk}/", {"opt_in": "1"}).status_code == 404
    assert client.post("/learn/srl/leaderboard/999999/", {"opt_in": "1"}).status_code == 404


def test_the_week_starts_on_monday():
    assert week_start(date(2026, 11, 25)).date() == date(2026, 11, 23)  # a Wednesday
    assert week_start(date(2026, 11, 23)).date() == date(2026, 11, 23)

"""The placement test in the browser: adaptive items, one stored answer each, a stop by SE or count, theta shown."""

import re

import pytest

from tests.conftest import login
from tests.irt_items import add_items, right_answer
from tutor.curricula.models import Item
from tutor.learners import placement
from tutor.learners.models import Ability, ItemResponse, PlacementTest


def url(curriculum, action: str = "") -> str:
    return f"/learn/placement/{curriculum.pk}/" + (f"{action}/" if action else "")


def start(client, curriculum) -> PlacementTest:
    response = client.post(url(curriculum, "start"))
    assert response.status_code == 302 and response["Location"] == url(curriculum)
    return PlacementTest.objects.get(status="active")


def shown_item(client, curriculum) -> Item:
    body = client.get(url(curriculum)).content.decode()
    return Item.objects.get(pk=int(re.search(r'name="item" value="(\d+)"', body).group(1)))


def knows_up_to(level: float):
    """A simulated student who answers exactly the items easier than ``level`` correctly."""
    return lambda item: item.irt_b < level


def take_to_the_end(client, curriculum, correct) -> PlacementTest:
    start(client, curriculum)
    for _ in range(placement.MAX_ITEMS + 1):
        test = PlacementTest.objects.get()
        if test.status == "done":
            return test
        item = shown_item(client, curriculum)
        client.post(
            url(curriculum, "answer"), {"item": item.pk, "answer": right_answer(item) if correct(item) else "-1"}
        )
    raise AssertionError("the test never ended")


def test_student_home_links_to_the_placement_test(client, alice, alice_session, fractions):
    body = login(client, alice).get("/learn/").content.decode()
    assert url(fractions) in body


def test_the_page_shows_an_item_and_an_answer_is_checked_and_stored(client, alice, fractions):
    add_items(fractions)
    login(client, alice)
    assert "Start the placement test" in client.get(url(fractions)).content.decode()
    test = start(client, fractions)
    item = shown_item(client, fractions)
    assert item == test.current_item
    page = client.get(url(fractions)).content.decode()
    assert "Question 1 of at most 15" in page and item.question in page
    response = client.post(url(fractions, "answer"), {"item": item.pk, "answer": right_answer(item)})
    assert response.status_code == 302 and response["Location"] == url(fractions)
    stored = ItemResponse.objects.get()
    assert (stored.student, stored.item, stored.correct, stored.source, stored.placement) == (
        alice,
        item,
        True,
        "placement",
        test,
    )
    test.refresh_from_db()
    assert test.n_items == 1 and test.current_item != item and test.theta > 0
    assert "Question 2 of at most 15" in client.get(url(fractions)).content.decode()
    assert Ability.objects.get(student=alice, curriculum=fractions).n_responses == 1


def test_a_resubmitted_answer_is_not_stored_twice(client, alice, fractions):
    add_items(fractions)
    login(client, alice)
    start(client, fractions)
    item = shown_item(client, fractions)
    client.post(url(fractions, "answer"), {"item": item.pk, "answer": "-1"})
    again = client.post(url(fractions, "answer"), {"item": item.pk, "answer": right_answer(item)}, follow=True)
    assert "already answered" in again.content.decode()
    assert ItemResponse.objects.count() == 1 and not ItemResponse.objects.get().correct
    assert PlacementTest.objects.get().n_items == 1


def test_starting_twice_keeps_the_test_in_progress(client, alice, fractions):
    add_items(fractions)
    login(client, alice)
    first = start(client, fractions)
    client.post(url(fractions, "start"))
    assert list(PlacementTest.objects.all()) == [first]


def test_i_dont_know_is_stored_as_wrong_and_an_empty_answer_is_refused(client, alice, fractions):
    add_items(fractions)
    login(client, alice)
    start(client, fractions)
    item = shown_item(client, fractions)
    refused = client.post(url(fractions, "answer"), {"item": item.pk, "answer": "  "}, follow=True)
    assert "Type an answer" in refused.content.decode() and not ItemResponse.objects.exists()
    client.post(url(fractions, "answer"), {"item": item.pk, "answer": "", "dont_know": "1"})
    assert ItemResponse.objects.get().correct is False


def test_the_test_stops_once_the_se_is_below_the_target(client, alice, fractions):
    add_items(fractions, n=30, a=3.0)  # very informative items: a few answers pin theta down
    test = take_to_the_end(login(client, alice), fractions, correct=knows_up_to(0.3))
    assert test.stop_reason == "se" and test.se < placement.SE_TARGET and test.n_items < placement.MAX_ITEMS
    assert ItemResponse.objects.filter(placement=test).count() == test.n_items


def test_the_test_stops_at_the_maximum_number_of_items(client, alice, fractions):
    add_items(fractions, n=30, a=0.6)  # weak items: the SE cannot reach the target in time
    test = take_to_the_end(login(client, alice), fractions, correct=lambda item: False)
    assert test.stop_reason == "max_items" and test.n_items == placement.MAX_ITEMS and test.se > placement.SE_TARGET


def test_the_result_shows_theta_with_its_se_and_a_plain_reading(client, alice, fractions):
    add_items(fractions, n=30, a=3.0)
    test = take_to_the_end(login(client, alice), fractions, correct=knows_up_to(0.3))
    body = client.get(url(fractions)).content.decode()
    assert f"{test.theta:.2f} ± {test.se:.2f}" in body
    assert "better than" in body and "Take the placement test again" in body
    assert 0.0 < test.theta < 0.7


def test_a_curriculum_without_calibrated_items_has_no_test(client, alice, fractions):
    fractions.items.update(irt_b=None)
    response = login(client, alice).post(url(fractions, "start"), follow=True)
    assert "no calibrated questions" in response.content.decode() and not PlacementTest.objects.exists()


def test_outsider_gets_404_on_a_curriculum_outside_their_classes(client, mallory, trent_class, fractions):
    trent_class.curricula.clear()
    login(client, mallory)
    assert client.get(url(fractions)).status_code == 404
    assert client.post(url(fractions, "start")).status_code == 404
    assert not PlacementTest.objects.exists()


def test_teacher_gets_404_on_the_student_placement_page(client, tess, tess_class, fractions):
    assert login(client, tess).get(url(fractions)).status_code == 404


def test_anonymous_visitor_is_sent_to_log_in(client, fractions):
    assert client.get(url(fractions))["Location"].startswith("/login/")


def test_another_student_cannot_answer_for_alice(client, alice, mallory, fractions):
    add_items(fractions)
    login(client, alice)
    test = start(client, fractions)
    client.force_login(mallory)  # mallory's class uses the same curriculum, but the test is alice's
    response = client.post(url(fractions, "answer"), {"item": test.current_item_id, "answer": "1"}, follow=True)
    assert "no question waiting" in response.content.decode()
    assert not ItemResponse.objects.exists()


@pytest.mark.parametrize("theta", [-2.0, -0.5, 0.0, 0.7, 2.0])
def test_every_level_has_a_plain_reading(theta):
    assert "%" in placement.reading(theta, 0.25) and "fairly sure" in placement.reading(theta, 0.25)


def test_a_choice_item_offers_its_options_and_accepts_the_chosen_one(client, alice, fractions):
    fractions.items.update(irt_b=None)
    choices = ["4/6", "3/4", "2/6", "4/3"]
    Item.objects.create(
        curriculum=fractions,
        key="choice.1",
        position=5,
        question="Which fraction is equivalent to 2/3?",
        answer={"kind": "choice", "choices": choices, "value": "4/6"},
        irt_a=1.2,
        irt_b=-0.3,
        irt_c=0.25,
    )
    login(client, alice)
    start(client, fractions)
    page = client.get(url(fractions)).content.decode()
    assert all(f'type="radio" name="answer" value="{c}"' in page for c in choices)
    client.post(url(fractions, "answer"), {"item": shown_item(client, fractions).pk, "answer": "4/6"})
    assert ItemResponse.objects.get().correct is True
    assert PlacementTest.objects.get().stop_reason == "no_items"

"""The teacher's view of theta: each student's ability with its SE, per curriculum of the class."""

from tests.conftest import login
from tests.irt_items import add_items
from tutor.learners.actions import item_response_record
from tutor.learners.models import Ability


def url(classroom) -> str:
    return f"/teach/classes/{classroom.pk}/abilities/"


def test_teacher_sees_each_student_theta_with_its_se_and_responses(client, tess, tess_class, alice, bob, fractions):
    for item in add_items(fractions, n=6):
        item_response_record(student=alice, item=item, correct=True)
    ability = Ability.objects.get(student=alice)
    body = login(client, tess).get(url(tess_class)).content.decode()
    assert f"{ability.theta:.2f} ± {ability.se:.2f}" in body
    assert (
        f"{ability.theta - 2 * ability.se:.2f} to {ability.theta + 2 * ability.se:.2f}" in body
    )  # in words, no colour
    assert "<td>6</td>" in body and "rough: needs more answers" in body
    bob_row = body.split("(bob)")[1].split("</tr>")[0]
    assert "No item responses yet." in bob_row


def test_class_page_links_to_the_abilities(client, tess, tess_class):
    assert url(tess_class) in login(client, tess).get(f"/teach/classes/{tess_class.pk}/").content.decode()


def test_teacher_cannot_see_other_class_abilities(client, trent, tess_class, alice):
    assert login(client, trent).get(url(tess_class)).status_code == 404


def test_student_gets_404_on_the_class_abilities_page(client, alice, tess_class):
    assert login(client, alice).get(url(tess_class)).status_code == 404


def test_admin_may_see_any_class_abilities(client, adam, tess_class, alice):
    assert login(client, adam).get(url(tess_class)).status_code == 200

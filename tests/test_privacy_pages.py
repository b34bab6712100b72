"""The "My data" pages: download, request deletion with a typed confirmation, cancel; a teacher acting for a student."""

from __future__ import annotations

import io
import re
import zipfile

from tests.conftest import login
from tutor.audit.models import AuditEvent
from tutor.privacy.models import DeletionRequest


def test_my_data_page_lists_tables_and_offers_download_and_deletion(client, alice, alice_session):
    body = login(client, alice).get("/privacy/").content.decode()
    assert "My data" in body and 'href="/privacy/export.zip"' in body
    assert re.search(r"<code>dialogue_message</code></td><td>1</td>", body)  # the greeting
    assert 'action="/privacy/delete/"' in body and "type the username <code>alice</code>" in body


def test_the_download_is_a_zip_attachment_and_audited(client, alice, alice_session):
    response = login(client, alice).get("/privacy/export.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert re.fullmatch(r'attachment; filename="tutorgraph-data-alice-\d{8}\.zip"', response["Content-Disposition"])
    assert "no-cache" in response["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert "json/dialogue_message.json" in archive.namelist()
    assert AuditEvent.objects.filter(action="export", actor=alice, subject=alice).count() == 1


def test_a_request_without_the_typed_username_does_nothing(client, alice):
    response = login(client, alice).post("/privacy/delete/", {"confirm": "Alice"}, follow=True)
    assert not DeletionRequest.objects.exists()
    assert "Nothing was requested: type the username alice" in response.content.decode()


def test_a_confirmed_request_shows_its_due_date_and_can_be_cancelled(client, alice):
    login(client, alice)
    body = client.post("/privacy/delete/", {"confirm": " alice "}, follow=True).content.decode()
    deletion = DeletionRequest.objects.get(user=alice, status="pending")
    assert "Deletion requested." in body and 'id="privacy-due"' in body
    assert 'action="/privacy/delete/cancel/"' in body and 'action="/privacy/delete/"' not in body
    body = client.post("/privacy/delete/cancel/", follow=True).content.decode()
    deletion.refresh_from_db()
    assert deletion.status == "cancelled" and "is cancelled; nothing was deleted" in body
    assert "Cancelled" in body  # listed under earlier requests


def test_cancel_with_nothing_pending_says_so(client, alice):
    body = login(client, alice).post("/privacy/delete/cancel/", follow=True).content.decode()
    assert "There is no pending deletion request for alice to cancel." in body


def test_the_teacher_requests_deletion_for_a_student_of_her_class(client, alice, tess):
    login(client, tess)
    page = client.get(f"/privacy/users/{alice.pk}/").content.decode()
    assert "Data of Alice (alice)" in page and f'href="/privacy/users/{alice.pk}/export.zip"' in page
    response = client.post(f"/privacy/users/{alice.pk}/delete/", {"confirm": "alice"})
    assert response.status_code == 302 and response["Location"] == f"/privacy/users/{alice.pk}/"
    deletion = DeletionRequest.objects.get()
    assert (deletion.user, deletion.requested_by) == (alice, tess)
    # alice sees the request on her own page and may cancel it.
    client.logout()
    body = login(client, alice).get("/privacy/").content.decode()
    assert "by tess" in body and 'id="privacy-pending"' in body


def test_a_teacher_cannot_reach_another_teachers_student(client, alice, trent, mallory):
    login(client, trent)
    assert client.get(f"/privacy/users/{alice.pk}/").status_code == 404
    assert client.post(f"/privacy/users/{alice.pk}/delete/", {"confirm": "alice"}).status_code == 404
    assert not DeletionRequest.objects.exists()


def test_the_pages_link_to_my_data(client, alice, tess, tess_class, alice_session, fractions):
    assert 'href="/privacy/"' in login(client, alice).get("/learn/").content.decode()
    client.logout()
    page = login(client, tess).get(
        f"/teach/classes/{tess_class.pk}/coaching/students/{alice.pk}/?curriculum={fractions.pk}"
    )
    assert f'href="/privacy/users/{alice.pk}/"' in page.content.decode()


def test_the_page_has_no_inline_script(client, alice):
    body = login(client, alice).get("/privacy/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", body) and " onclick=" not in body

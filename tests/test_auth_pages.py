"""Login, logout and password change."""

from tests.conftest import PASSWORD, login


def test_alice_logs_in_with_her_password(client, alice):
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/"


def test_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200 and b"didn't match" in response.content


def test_logout_ends_the_session(client, alice):
    login(client, alice)
    assert client.post("/logout/").status_code == 302
    assert client.get("/learn/").status_code == 302


def test_password_change_requires_the_old_password(client, alice):
    login(client, alice)
    bad = client.post(
        "/password/",
        {"old_password": "wrong", "new_password1": "a-new-long-phrase", "new_password2": "a-new-long-phrase"},
    )
    assert bad.status_code == 200 and b"incorrect" in bad.content
    good = client.post(
        "/password/",
        {"old_password": PASSWORD, "new_password1": "a-new-long-phrase", "new_password2": "a-new-long-phrase"},
    )
    assert good.status_code == 302
    client.logout()
    assert client.login(username="alice", password="a-new-long-phrase")

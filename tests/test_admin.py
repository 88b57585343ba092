"""Moderators in /admin/ (issue 4): lock rooms, delete posts, deactivate users, and it bites."""
import io

import pytest
from django.core.management import call_command
from django.contrib.auth import get_user_model
from django.test import Client

from posts.models import Post
from rooms.models import Room
from tests.clients import error_code, sign_up
from tests.helpers import create_post, history

User = get_user_model()


@pytest.fixture(params=["superuser", "make_moderator"])
def moderator(request, db):
    """The first moderator (createsuperuser), and one made with `manage.py make_moderator`."""
    if request.param == "superuser":
        return User.objects.create_superuser("moderator", password="moderator passphrase")
    User.objects.create_user("moderator", password="moderator passphrase")
    call_command("make_moderator", "Moderator", stdout=io.StringIO())
    return User.objects.get(username="moderator")


@pytest.fixture
def admin_client(client, moderator):
    client.force_login(moderator)
    return client


def run_action(admin_client, changelist, action, *pks):
    response = admin_client.post(changelist, {"action": action, "_selected_action": [str(pk) for pk in pks]}, follow=True)
    assert response.status_code == 200
    return response


def test_moderator_creates_and_renames_a_room(admin_client, db):
    response = admin_client.post("/admin/rooms/room/add/", {"id": "bonds", "name": "Bonds", "locked": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    response = admin_client.post("/admin/rooms/room/bonds/change/", {"name": "Bonds and rates"})
    assert response.status_code == 302
    assert Room.objects.get(pk="bonds").name == "Bonds and rates"


def test_room_changelist_shows_id_name_locked_created(admin_client, general):
    html = admin_client.get("/admin/rooms/room/").content.decode()
    for column in ("column-id", "column-name", "column-locked", "column-created_at"):
        assert column in html


def test_locked_room_refuses_posts_and_unlocking_opens_it(admin_client, gql, general):
    token, _, _ = sign_up(gql)
    response = run_action(admin_client, "/admin/rooms/room/", "lock_rooms", "general")
    assert "Locked 1 room(s)." in response.content.decode()
    assert error_code(create_post(gql, token, "anyone here?", "general")) == "FORBIDDEN"
    assert not Post.objects.exists()

    run_action(admin_client, "/admin/rooms/room/", "unlock_rooms", "general")
    assert create_post(gql, token, "anyone here?", "general")["data"]["createPost"]["success"] is True
    assert [p["body"] for p in history(gql, token, "general")] == ["anyone here?"]


def test_moderator_deletes_a_room(admin_client, general):
    Room.objects.create(id="spam", name="Spam")
    response = admin_client.post("/admin/rooms/room/spam/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Room.objects.filter(pk="spam").exists()


def test_deleted_post_is_gone_from_history_and_the_room_page(admin_client, gql, general):
    token, _, username = sign_up(gql)
    for body in ("keep me", "delete me", "keep me too"):
        assert "errors" not in create_post(gql, token, body, "general")
    doomed = Post.objects.get(body="delete me")

    response = admin_client.post(f"/admin/posts/post/{doomed.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302

    assert [p["body"] for p in history(gql, token, "general")] == ["keep me", "keep me too"]
    client = Client()
    client.force_login(User.objects.get(username=username))
    html = client.get("/rooms/general/").content.decode()
    assert "keep me too" in html and "delete me" not in html


def test_moderator_deletes_posts_in_bulk(admin_client, gql, general):
    token, _, _ = sign_up(gql)
    for body in ("one", "two"):
        create_post(gql, token, body, "general")
    pks = list(Post.objects.values_list("pk", flat=True))
    response = admin_client.post("/admin/posts/post/", {"action": "delete_selected", "_selected_action": pks, "post": "yes"})
    assert response.status_code == 302
    assert history(gql, token, "general") == []


def test_moderator_finds_posts_by_room_author_and_text(admin_client, gql, general):
    Room.objects.create(id="other", name="Other")
    token, _, username = sign_up(gql)
    create_post(gql, token, "the needle in general", "general")
    create_post(gql, token, "hay in other", "other")

    found = admin_client.get("/admin/posts/post/", {"q": "needle"}).content.decode()
    assert "the needle in general" in found and "hay in other" not in found
    by_author = admin_client.get("/admin/posts/post/", {"q": username}).content.decode()
    assert "the needle in general" in by_author and "hay in other" in by_author
    by_room = admin_client.get("/admin/posts/post/", {"room__id__exact": "other"}).content.decode()
    assert "hay in other" in by_room and "the needle in general" not in by_room


def test_post_changelist_query_count_does_not_grow_with_posts(admin_client, gql, general, django_assert_max_num_queries):
    token, _, _ = sign_up(gql)
    for n in range(8):
        create_post(gql, token, f"post {n}", "general")
    with django_assert_max_num_queries(12):
        assert admin_client.get("/admin/posts/post/").status_code == 200


def test_deactivated_user_can_no_longer_post(admin_client, gql, general):
    token, user_id, _ = sign_up(gql)
    assert "errors" not in create_post(gql, token, "before", "general")

    response = run_action(admin_client, "/admin/auth/user/", "deactivate_users", user_id)
    assert "Deactivated 1 user(s)." in response.content.decode()
    assert User.objects.get(pk=user_id).is_active is False
    assert error_code(create_post(gql, token, "after", "general")) == "FORBIDDEN"
    assert [p["body"] for p in history(gql, sign_up(gql)[0], "general")] == ["before"]


def test_deactivated_user_loses_the_browser_session(admin_client, gql, general):
    _, user_id, _ = sign_up(gql)
    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    assert client.get("/rooms/general/").status_code == 200
    run_action(admin_client, "/admin/auth/user/", "deactivate_users", user_id)
    assert client.get("/rooms/general/").status_code == 302


def test_moderator_cannot_deactivate_themselves(admin_client, moderator):
    run_action(admin_client, "/admin/auth/user/", "deactivate_users", moderator.pk)
    moderator.refresh_from_db()
    assert moderator.is_active


def test_non_staff_user_cannot_use_the_admin(gql, general):
    _, user_id, _ = sign_up(gql)
    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    response = client.post("/admin/rooms/room/", {"action": "lock_rooms", "_selected_action": ["general"]})
    assert response.status_code == 302 and "/admin/login/" in response.headers["Location"]
    assert Room.objects.get(pk="general").locked is False


def test_make_moderator_gives_only_the_moderators_rights(db):
    user = User.objects.create_user("helper", password="helper passphrase")
    call_command("make_moderator", "helper", stdout=io.StringIO())
    user = User.objects.get(pk=user.pk)
    assert user.is_staff and not user.is_superuser
    assert user.has_perms(["rooms.change_room", "rooms.delete_room", "posts.delete_post", "auth.view_user"])
    assert not user.has_perm("auth.change_user") and not user.has_perm("posts.change_post")


def test_group_moderator_cannot_edit_users_or_deactivate_a_superuser(db, gql):
    boss = User.objects.create_superuser("boss", password="boss passphrase")
    helper = User.objects.create_user("helper", password="helper passphrase")
    call_command("make_moderator", "helper", stdout=io.StringIO())
    client = Client()
    client.force_login(helper)
    response = client.post(f"/admin/auth/user/{helper.pk}/change/", {"username": "helper", "is_superuser": "on"})
    assert response.status_code == 403
    run_action(client, "/admin/auth/user/", "deactivate_users", boss.pk)
    boss.refresh_from_db()
    helper.refresh_from_db()
    assert boss.is_active and not helper.is_superuser


def test_group_moderator_cannot_reactivate_a_deactivated_superuser(db):
    boss = User.objects.create_superuser("boss", password="boss passphrase", is_active=False)
    banned = User.objects.create_user("banned", password="banned passphrase", is_active=False)
    helper = User.objects.create_user("helper", password="helper passphrase")
    call_command("make_moderator", "helper", stdout=io.StringIO())
    client = Client()
    client.force_login(helper)
    run_action(client, "/admin/auth/user/", "reactivate_users", boss.pk, banned.pk)
    boss.refresh_from_db()
    banned.refresh_from_db()
    assert not boss.is_active, "a moderator must not bring back a superuser"
    assert banned.is_active, "control: the same action reactivates an ordinary user"

"""Editing and deleting posts (issue 10): the rules through the API, and every reader seeing
the change live and on resume through `roomEvents`, in the room's one order."""
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from posts.models import Post, PostChange, PostRequest
from tests.clients import OverHttp, Socket, error_code
from tests.helpers import (
    add_post, create_post, on_the_full_stack, post_now, posted, public_post_id, stored_post, user_with_token,
)

EDIT = "mutation($input: EditPostInput!) { editPost(input: $input) { id body editedAt deleted } }"
DELETE = "mutation($input: DeletePostInput!) { deletePost(input: $input) { success } }"
HISTORY = "query($input: PostsInput!) { posts(input: $input) { id seq body editedAt } }"
ROOM_EVENTS = (
    "subscription($input: RoomEventsInput!) { roomEvents(input: $input) "
    "{ seq kind post { id seq author body editedAt deleted } } }"
)


def client_id_of(post_id):
    """A row number as clients name the post; anything else as it is."""
    return public_post_id(post_id) if isinstance(post_id, int) else post_id


def edit(gql, token, post_id, body):
    return gql(EDIT, {"input": {"postId": client_id_of(post_id), "body": body}}, token=token)


def delete(gql, token, post_id):
    return gql(DELETE, {"input": {"postId": client_id_of(post_id)}}, token=token)


def test_the_author_edits_a_post_and_history_shows_it_edited(gql):
    _, alice = user_with_token("editor")
    post = post_now(gql, alice, "teh typo")
    result = edit(gql, alice, post.pk, "the typo, fixed")
    assert "errors" not in result, result
    assert result["data"]["editPost"]["body"] == "the typo, fixed"
    assert result["data"]["editPost"]["editedAt"]
    shown = gql(HISTORY, {"input": {"roomId": "general"}}, token=alice)["data"]["posts"]
    assert [(p["body"], bool(p["editedAt"])) for p in shown] == [("the typo, fixed", True)]
    audit = PostChange.objects.get(post=post)
    assert (audit.kind, audit.previous_body, audit.seq) == ("edited", "teh typo", post.seq + 1)


def test_what_nobody_may_edit(gql, general, settings):
    alice_user, alice = user_with_token("editor")
    _, bob = user_with_token("editor")
    post = post_now(gql, alice, "mine")
    assert error_code(edit(gql, bob, post.pk, "not yours")) == "FORBIDDEN"
    bot_post = add_post(general, "AAPL.US quote is $93.42 per share", author="bot", is_bot=True)
    assert error_code(edit(gql, alice, bot_post.pk, "free money")) == "FORBIDDEN"
    assert error_code(edit(gql, alice, post.pk, "   ")) == "BAD_USER_INPUT"
    assert error_code(edit(gql, alice, post.pk, "/stock=aapl.us")) == "BAD_USER_INPUT"
    assert error_code(edit(gql, alice, 987654, "nothing there")) == "NOT_FOUND"
    assert error_code(edit(gql, alice, "x" * 40, "nothing there")) == "NOT_FOUND"
    assert error_code(edit(gql, None, post.pk, "anonymous")) == "UNAUTHENTICATED"
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(seconds=settings.POST_EDIT_WINDOW_SECONDS + 1))
    too_late = edit(gql, alice, post.pk, "too late")
    assert error_code(too_late) == "FORBIDDEN" and "15 minutes" in too_late["errors"][0]["message"]
    assert Post.objects.get(pk=post.pk).body == "mine"
    assert not PostChange.objects.exists(), "a refused change stores nothing"


def test_a_deleted_post_leaves_no_body_but_the_moderators_audit(gql):
    _, alice = user_with_token("editor")
    _, bob = user_with_token("editor")
    keep, doomed = post_now(gql, alice, "keep me"), post_now(gql, alice, "secret to delete")
    assert error_code(delete(gql, bob, doomed.pk)) == "FORBIDDEN"
    assert delete(gql, alice, doomed.pk)["data"]["deletePost"]["success"] is True
    assert error_code(delete(gql, alice, doomed.pk)) == "NOT_FOUND", "deleted once"
    assert error_code(edit(gql, alice, doomed.pk, "back")) == "NOT_FOUND"
    shown = gql(HISTORY, {"input": {"roomId": "general"}}, token=bob)["data"]["posts"]
    assert [p["body"] for p in shown] == ["keep me"]
    stored = Post.objects.get(pk=doomed.pk)
    assert stored.body == "" and stored.deleted_at is not None
    assert PostChange.objects.get(post=doomed).previous_body == "secret to delete"
    assert PostRequest.objects.get(request_id=doomed.request_id).body == "", "nor the request's copy"
    page = Client()
    page.force_login(get_user_model().objects.exclude(pk=stored.user_id).first())
    assert "secret to delete" not in page.get("/rooms/general/").content.decode()
    assert keep.pk


def test_a_moderator_deletes_anyones_post_from_the_api_and_the_admin(gql, admin_client):
    _, alice = user_with_token("editor")
    _, moderator = user_with_token("editor", staff=True)
    first, second = post_now(gql, alice, "rule breaker one"), post_now(gql, alice, "rule breaker two")
    assert delete(gql, moderator, first.pk)["data"]["deletePost"]["success"] is True
    response = admin_client.post(f"/admin/posts/post/{second.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert list(Post.objects.filter(pk__in=[first.pk, second.pk]).values_list("body", flat=True)) == ["", ""]
    audit = admin_client.get("/admin/posts/postchange/").content.decode()
    assert "rule breaker one" in audit and "rule breaker two" in audit


def test_edits_and_deletions_are_rate_limited(gql, settings):
    settings.RATE_LIMIT_POSTS = 3
    _, alice = user_with_token("editor")
    post = post_now(gql, alice, "v0")
    for n in range(1, 4):
        assert "errors" not in edit(gql, alice, post.pk, f"v{n}")
    assert error_code(edit(gql, alice, post.pk, "v4")) == "RATE_LIMITED"


# --- live and on resume, through a real server ---


@pytest.mark.django_db(transaction=True)
def test_every_reader_sees_edits_and_deletions_live_and_on_resume_in_the_rooms_order(embedded_web, general):
    _, alice = user_with_token("editor")
    _, bob = user_with_token("editor")
    api = OverHttp(embedded_web.url)
    with Socket(embedded_web.ws_url).init(bob) as reader:
        live = reader.subscribe(ROOM_EVENTS, {"input": {"roomId": "general", "after": 0}})
        first = create_post(api, alice, "frist")
        created = reader.events(live, 1)[0]
        post_id = created["post"]["id"]
        assert created["kind"] == "CREATED" and created["post"]["body"] == "frist"
        assert "errors" not in api(EDIT, {"input": {"postId": post_id, "body": "first"}}, token=alice)
        create_post(api, alice, "second")
        # "second" goes through the pipeline: read it before deleting, or the deletion may
        # take the room's next position first (on a busy machine it does).
        seen = reader.events(live, 2)
        assert "errors" not in api(DELETE, {"input": {"postId": post_id}}, token=alice)
        seen += reader.events(live, 1)
        assert [(e["kind"], e["post"]["body"]) for e in seen] == [("EDITED", "first"), ("CREATED", "second"), ("DELETED", "")]
        assert seen[0]["post"]["editedAt"] and seen[2]["post"]["deleted"] is True
        seqs = [created["seq"]] + [e["seq"] for e in seen]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4, seqs
        assert first["data"]["createPost"]["success"]

    with Socket(embedded_web.ws_url).init(bob) as late:
        # Replay shows the room as it is now: a deleted post's replay is its deletion only,
        # neither its creation (no body anywhere) nor its edits, from wherever one resumes.
        resumed = late.subscribe(ROOM_EVENTS, {"input": {"roomId": "general", "after": created["seq"]}})
        resumed_events = late.events(resumed, 2)
        assert [(e["kind"], e["post"]["body"]) for e in resumed_events] == [("CREATED", "second"), ("DELETED", "")]
        everything = late.subscribe(ROOM_EVENTS, {"input": {"roomId": "general", "after": 0}})
        replay = late.events(everything, 2)
        assert [(e["kind"], e["post"]["body"]) for e in replay] == [("CREATED", "second"), ("DELETED", "")]
        assert replay[1]["post"]["id"] == post_id and replay[1]["post"]["deleted"] is True
        posts_only = late.subscribe(
            "subscription($input: PostCreatedInput!) { postCreated(input: $input) { body } }",
            {"input": {"roomId": "general", "after": 0}},
        )
        assert late.next_payload(posts_only)["postCreated"]["body"] == "second"
        assert "frist" not in json.dumps(replay)


@on_the_full_stack
def test_an_edit_on_one_web_process_reaches_a_reader_on_another(full_stack, general):
    _, alice = user_with_token("editor")
    _, bob = user_with_token("editor")
    web1 = OverHttp(full_stack.web1.url)
    stored = stored_post(posted(web1, alice, "before"))
    with Socket(full_stack.web2.ws_url).init(bob) as reader:
        live = reader.subscribe(ROOM_EVENTS, {"input": {"roomId": "general", "after": stored.seq}})
        assert "errors" not in web1(EDIT, {"input": {"postId": public_post_id(stored.pk), "body": "after"}}, token=alice)
        event = reader.events(live, 1)[0]
    assert (event["kind"], event["post"]["body"]) == ("EDITED", "after") and event["seq"] > stored.seq

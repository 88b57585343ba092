"""How many database queries each hot path makes, so that a change that adds one shows.

createPost, each pipeline stage's service function, history (`posts`) and the room list
(`rooms`, with its counts). Counted inside a test's transaction, so an atomic block shows
as a SAVEPOINT and its RELEASE (BEGIN and COMMIT outside tests). The stages run as a worker
runs them: each publishes the next stage to a broker (kombu's in-memory one here) instead
of running it inline, so each count is the stage's own.
"""
import pytest
from celery import current_app

from tests.clients import POSTS, data
from tests.helpers import (
    Post, PostRequest, add_post, add_posts, create_post, issue_room_token, make_room, pipeline_stages, user_with_token,
)

ROOMS = "{ rooms { id name isPrivate isDirect lastReadSeq unreadCount mentionCount } }"


@pytest.fixture
def published():
    """The pipeline as the full stack runs it: stages published to a broker, not run inline."""
    conf = current_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, "memory://"
    with current_app.connection_for_write() as connection:
        queues = [queue(connection.default_channel) for queue in conf.task_queues]
        for queue in queues:
            queue.declare()
        try:
            yield
        finally:
            for queue in queues:
                queue.purge()
            conf.task_always_eager, conf.broker_url = saved


@pytest.fixture
def ann(general):
    return user_with_token("counted")


def requested(user, body):
    """A request as createPost records it, and the payload its stages are sent."""
    request = PostRequest.objects.create(user=user, room_id="general", body=body, is_command=body.startswith("/"))
    return {"request_id": str(request.request_id), "room_id": "general", "user_id": user.pk, "body": body}


def test_createpost_makes_7_queries(gql, ann, published, django_assert_num_queries):
    """7: the access token's user; the room (open for posts, and the user may post in it);
    SAVEPOINT; the user's row locked (one user's requests are counted one at a time); the
    user's requests in the rate window, counted; the request inserted; RELEASE. Publishing
    the first stage is not a query."""
    user, token = ann
    with django_assert_num_queries(7):
        data(create_post(gql, token, "counted"))
    assert PostRequest.objects.filter(user=user).count() == 1


def test_routing_a_request_makes_no_query(ann, published, django_assert_num_queries):
    """0, for a plain post and for a command: new.post.requested decides from the body
    alone, and a command's room token is signed, not stored."""
    user, _ = ann
    for body in ("plain", "/stock=aapl.us"):
        payload = requested(user, body)
        with django_assert_num_queries(0):
            pipeline_stages.new_post_requested(**payload)


def test_accepting_a_users_post_makes_8_queries(ann, published, django_assert_num_queries):
    """8: the request's number and its sender's username (one statement, once createPost
    has committed it); SAVEPOINT; the room's position, its row locked; the sender's posts
    in this room still on their way, up to this one (none left pending: stored already);
    the posts inserted (one statement for all); the room's position moved; the requests
    marked stored; RELEASE. Announcing the post is sent after commit, and is not a query."""
    user, _ = ann
    payload = requested(user, "accepted")
    with django_assert_num_queries(8):
        pipeline_stages.new_post_accepted(**payload)
    post = Post.objects.get(request_id=payload["request_id"])
    assert post.body == "accepted" and post.seq == 1


def test_a_bot_reply_makes_no_query_and_accepting_it_7(ann, published, django_assert_num_queries):
    """bot.post.request: 0 (the room and requester come from the signed token). Its
    new.post.accepted: 7: SAVEPOINT; the room's position, locked; already stored?; the
    post inserted; the room's position moved; the request marked stored; RELEASE."""
    user, _ = ann
    payload = requested(user, "/stock=aapl.us")
    token = issue_room_token(request_id=payload["request_id"], room_id="general", user_id=user.pk)
    with django_assert_num_queries(0):
        pipeline_stages.bot_post_request(room_token=token, body="AAPL.US quote is $93.42 per share")
    with django_assert_num_queries(7):
        pipeline_stages.new_post_accepted(
            request_id=payload["request_id"], room_id="general", user_id=None, body="AAPL.US quote is $93.42 per share"
        )
    quote = Post.objects.get(request_id=payload["request_id"])
    assert quote.is_bot


def test_rejecting_a_post_makes_1_query(ann, published, django_assert_num_queries):
    """1: the request marked failed (unless it was stored after all). Telling the
    requester is a group message, not a query."""
    user, _ = ann
    payload = requested(user, "/stock=nope.us")
    with django_assert_num_queries(1):
        pipeline_stages.new_post_error(**payload, reason="No quote found.")
    assert PostRequest.objects.get(request_id=payload["request_id"]).state == PostRequest.State.FAILED


@pytest.mark.parametrize("posts", [1, 50])
def test_a_page_of_history_makes_3_queries_however_many_posts_it_holds(gql, ann, posts, django_assert_num_queries):
    """3, for one post or a page of 50: the access token's user; the room (it exists and
    the user may read it); the page of posts, in one statement."""
    _, token = ann
    add_posts("general", posts, "post {n} for @someone")
    with django_assert_num_queries(3):
        page = data(gql(POSTS, {"input": {"roomId": "general"}}, token=token), "posts")
    assert len(page) == posts


@pytest.mark.parametrize("rooms", [1, 8])
def test_the_room_list_with_its_counts_makes_3_queries_however_many_rooms(gql, ann, rooms, django_assert_num_queries):
    """3, for one room or nine: the access token's user; the rooms the user may see; their
    read positions, unread and mention counts, all rooms in one statement."""
    user, token = ann
    for n in range(rooms):
        room = make_room(prefix="counted")
        add_post(room, f"news for @{user.username}")
    with django_assert_num_queries(3):
        listed = data(gql(ROOMS, token=token), "rooms")
    assert len(listed) == rooms + 1 and sum(room["mentionCount"] for room in listed) == rooms

"""Read state and unread counts (issue 10): markRead, unreadCount and mentionCount in
`rooms`, and the user's other sessions told live through readStateChanged."""
import pytest
from django.test import Client

from posts.models import Post
from rooms.models import Room
from tests.graphql_client import CREATE_POST, InProcess, OverHttp, error_code
from tests.helpers import user_with_token
from tests.stack import wait_until

ROOMS = "query { rooms { id lastReadSeq unreadCount mentionCount } }"
MARK_READ = "mutation($input: MarkReadInput!) { markRead(input: $input) { roomId lastReadSeq unreadCount mentionCount } }"
READ_STATE = "subscription { readStateChanged { roomId lastReadSeq unreadCount mentionCount } }"
POST_ERROR = "subscription { postError { requestId body reason } }"


def make_user(name=None):
    return user_with_token("reader", username=name)


@pytest.fixture
def gql(db, general):
    return InProcess(Client())


def say(gql, token, body, room="general"):
    result = gql(CREATE_POST, {"input": {"roomId": room, "body": body}}, token=token)
    assert "errors" not in result, result
    return Post.objects.get(request_id=result["data"]["createPost"]["requestId"])


def state(gql, token, room="general"):
    result = gql(ROOMS, token=token)
    assert "errors" not in result, result
    return {r["id"]: r for r in result["data"]["rooms"]}[room]


def mark(gql, token, seq, room="general"):
    return gql(MARK_READ, {"input": {"roomId": room, "seq": seq}}, token=token)


def test_unread_counts_rise_with_others_posts_and_clear_when_read(gql):
    _, ann = make_user()
    _, bob = make_user()
    Room.objects.create(id="quiet", name="Quiet")
    posts = [say(gql, ann, f"news {n}") for n in range(3)]
    assert state(gql, bob)["unreadCount"] == 3
    assert state(gql, ann)["unreadCount"] == 0, "your own posts are never unread"
    assert state(gql, bob, "quiet")["unreadCount"] == 0

    read = mark(gql, bob, posts[1].seq)["data"]["markRead"]
    assert (read["lastReadSeq"], read["unreadCount"]) == (posts[1].seq, 1)
    assert mark(gql, bob, posts[0].seq)["data"]["markRead"]["lastReadSeq"] == posts[1].seq, "never moves back"
    assert mark(gql, bob, 10**6)["data"]["markRead"]["lastReadSeq"] == Room.objects.get(pk="general").last_seq
    assert state(gql, bob)["unreadCount"] == 0

    say(gql, ann, "one more")
    assert state(gql, bob)["unreadCount"] == 1
    Post.objects.filter(body="one more").update(deleted_at="2026-01-01T00:00:00Z", body="")
    assert state(gql, bob)["unreadCount"] == 0, "a deleted post is not unread"


def test_mentions_count_the_user_named_as_a_word(gql):
    _, ann = make_user()
    _, bob = make_user("bob")
    make_user("bobby")
    for body in ("hey @bob, look", "@bob", "mail x@bob.example", "@bobby is someone else", "@BOB shouting"):
        say(gql, ann, body)
    assert state(gql, bob)["mentionCount"] == 3


def test_mark_read_refuses_what_is_not_a_position(gql):
    _, bob = make_user()
    assert error_code(mark(gql, bob, -1)) == "BAD_USER_INPUT"
    assert error_code(mark(gql, bob, 1, room="nowhere")) == "NOT_FOUND"
    assert error_code(mark(gql, None, 1)) == "UNAUTHENTICATED"


@pytest.mark.django_db(transaction=True)
def test_the_users_other_sessions_hear_of_a_read_and_post_errors_stay_apart(embedded_web, general):
    web = embedded_web
    from tests.test_websocket import Socket

    _, ann = make_user()
    _, bob = make_user()
    api = OverHttp(web.url)
    api(CREATE_POST, {"input": {"roomId": "general", "body": "read me"}}, token=ann)
    with Socket(web.ws_url) as other_tab:
        other_tab.init(bob)
        reads = other_tab.subscribe(READ_STATE)
        errors = other_tab.subscribe(POST_ERROR)
        # A subscription has no acknowledgement: read further until the other tab hears of it.
        for attempt in range(10):
            api(CREATE_POST, {"input": {"roomId": "general", "body": f"read me too {attempt}"}}, token=ann)
            newest = wait_until(lambda a=attempt: Post.objects.filter(body=f"read me too {a}").values_list("seq", flat=True).first(), 10, "the post")
            result = api(MARK_READ, {"input": {"roomId": "general", "seq": newest}}, token=bob)
            assert "errors" not in result, result
            try:
                heard = other_tab.next_payload(reads, timeout=1)["readStateChanged"]
                break
            except TimeoutError:
                continue
        assert heard == {"roomId": "general", "lastReadSeq": newest, "unreadCount": 0, "mentionCount": 0}
        # The post error subscription, on the same user's group, got nothing of it.
        api(CREATE_POST, {"input": {"roomId": "general", "body": "/stock=nope.us"}}, token=bob)
        assert "postError" in other_tab.next_payload(errors, timeout=15)

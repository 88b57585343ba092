"""Read state and unread counts (issue 10): markRead, unreadCount and mentionCount in
`rooms`, and the user's other sessions told live through readStateChanged."""
import pytest

from posts.selectors import UNREAD_COUNT_MAX
from posts.models import Post
from rooms.models import Room
from tests.clients import OverHttp, Socket, data, error_code, until_heard
from tests.helpers import add_posts, make_room, post_now, posted, public_post_id, stored_post, user_with_token

ROOMS = "query { rooms { id lastReadSeq unreadCount mentionCount } }"
MARK_READ = "mutation($input: MarkReadInput!) { markRead(input: $input) { roomId lastReadSeq unreadCount mentionCount } }"
READ_STATE = "subscription { readStateChanged { roomId lastReadSeq unreadCount mentionCount } }"
POST_ERROR = "subscription { postError { requestId body reason } }"


def state(gql, token, room="general"):
    return {r["id"]: r for r in data(gql(ROOMS, token=token), "rooms")}[room]


def mark(gql, token, seq, room="general"):
    return gql(MARK_READ, {"input": {"roomId": room, "seq": seq}}, token=token)


def test_unread_counts_rise_with_others_posts_and_clear_when_read(gql):
    _, ann = user_with_token("reader")
    _, bob = user_with_token("reader")
    make_room("quiet")
    posts = [post_now(gql, ann, f"news {n}") for n in range(3)]
    assert state(gql, bob)["unreadCount"] == 3
    assert state(gql, ann)["unreadCount"] == 0, "your own posts are never unread"
    assert state(gql, bob, "quiet")["unreadCount"] == 0

    read = mark(gql, bob, posts[1].seq)["data"]["markRead"]
    assert (read["lastReadSeq"], read["unreadCount"]) == (posts[1].seq, 1)
    assert mark(gql, bob, posts[0].seq)["data"]["markRead"]["lastReadSeq"] == posts[1].seq, "never moves back"
    assert mark(gql, bob, 10**6)["data"]["markRead"]["lastReadSeq"] == Room.objects.get(pk="general").last_seq
    assert state(gql, bob)["unreadCount"] == 0

    post_now(gql, ann, "one more")
    assert state(gql, bob)["unreadCount"] == 1
    Post.objects.filter(body="one more").update(deleted_at="2026-01-01T00:00:00Z", body="")
    assert state(gql, bob)["unreadCount"] == 0, "a deleted post is not unread"


def test_mentions_count_the_user_named_as_a_word(gql):
    _, ann = user_with_token("reader")
    _, bob = user_with_token("reader", username="bob")
    user_with_token("reader", username="bobby")
    for body in ("hey @bob, look", "@bob", "mail x@bob.example", "@bobby is someone else", "@BOB shouting"):
        post_now(gql, ann, body)
    assert state(gql, bob)["mentionCount"] == 3


def test_counts_stop_at_their_cap_however_many_posts_the_room_holds(gql, django_assert_num_queries):
    _, bob = user_with_token("reader", username="bob")
    make_room("quiet")
    posts = add_posts("general", UNREAD_COUNT_MAX + 50, "@bob, number {n}")
    add_posts("quiet", 3, "@bob here too")
    # The count reads at most the cap's worth of rows: 100 means "100 or more".
    with django_assert_num_queries(3):  # the caller, the rooms, then every room's counts at once
        counted = state(gql, bob)
    assert (counted["unreadCount"], counted["mentionCount"]) == (UNREAD_COUNT_MAX, UNREAD_COUNT_MAX)
    assert (state(gql, bob, "quiet")["unreadCount"], state(gql, bob, "quiet")["mentionCount"]) == (3, 3)
    read = mark(gql, bob, posts[-11].seq)["data"]["markRead"]
    assert (read["unreadCount"], read["mentionCount"]) == (10, 10), "under the cap, the exact count"


def test_mentions_follow_edits_and_deletions(gql):
    bob, bob_token = user_with_token("reader", username="bob")
    ann, ann_token = user_with_token("reader", username="ann")
    plain = post_now(gql, ann_token, "nothing for anyone")
    named = post_now(gql, ann_token, "ping @bob")
    post_now(gql, bob_token, "talking to myself, @bob")
    assert state(gql, bob_token)["mentionCount"] == 1, "your own posts never mention you"
    edit = "mutation($input: EditPostInput!) { editPost(input: $input) { body } }"
    delete = "mutation($input: DeletePostInput!) { deletePost(input: $input) { success } }"
    assert "errors" not in gql(edit, {"input": {"postId": public_post_id(plain.pk), "body": "now for @Bob."}}, token=ann_token)
    assert state(gql, bob_token)["mentionCount"] == 2
    assert "errors" not in gql(edit, {"input": {"postId": public_post_id(named.pk), "body": "ping nobody"}}, token=ann_token)
    assert state(gql, bob_token)["mentionCount"] == 1
    assert "errors" not in gql(delete, {"input": {"postId": public_post_id(plain.pk)}}, token=ann_token)
    assert state(gql, bob_token)["mentionCount"] == 0


def test_mark_read_is_rate_limited_however_the_calls_come(gql, settings):
    settings.MARK_READ_RATE_LIMIT = 5
    _, bob = user_with_token("reader")
    _, ann = user_with_token("reader")
    post_now(gql, ann, "read me")
    # Aliases in one request are calls like any others.
    many = "mutation { " + " ".join(
        f'r{n}: markRead(input: {{roomId: "general", seq: {n}}}) {{ lastReadSeq }}' for n in range(8)
    ) + " }"
    result = gql(many, token=bob)
    answered = [name for name, value in result["data"].items() if value is not None]
    assert answered == ["r0", "r1", "r2", "r3", "r4"]
    refused = [error for error in result["errors"] if error["extensions"]["code"] == "RATE_LIMITED"]
    assert len(refused) == 3 and "try again in" in refused[0]["message"]
    assert error_code(mark(gql, bob, 1)) == "RATE_LIMITED"
    assert "errors" not in mark(gql, ann, 1), "the limit is per user"


def test_mark_read_refuses_what_is_not_a_position(gql):
    _, bob = user_with_token("reader")
    assert error_code(mark(gql, bob, -1)) == "BAD_USER_INPUT"
    assert error_code(mark(gql, bob, 1, room="nowhere")) == "NOT_FOUND"
    assert error_code(mark(gql, None, 1)) == "UNAUTHENTICATED"


@pytest.mark.django_db(transaction=True)
def test_the_users_other_sessions_hear_of_a_read_and_post_errors_stay_apart(embedded_web, general):
    _, ann = user_with_token("reader")
    _, bob = user_with_token("reader")
    api = OverHttp(embedded_web.url)
    posted(api, ann, "read me")
    with Socket(embedded_web.ws_url).init(bob) as other_tab:
        reads = other_tab.subscribe(READ_STATE)
        errors = other_tab.subscribe(POST_ERROR)
        attempts = iter(range(10))
        newest = None

        def read_further():
            nonlocal newest
            newest = stored_post(posted(api, ann, f"read me too {next(attempts)}"), timeout=10).seq
            data(api(MARK_READ, {"input": {"roomId": "general", "seq": newest}}, token=bob))

        heard = until_heard(other_tab, reads, read_further, tries=10, timeout=1)["readStateChanged"]
        assert heard == {"roomId": "general", "lastReadSeq": newest, "unreadCount": 0, "mentionCount": 0}
        # The post error subscription, on the same user's group, got nothing of it.
        posted(api, bob, "/stock=nope.us")
        assert "postError" in other_tab.next_payload(errors, timeout=15)


MUTE = "mutation($input: MuteRoomInput!) { muteRoom(input: $input) { roomId muted unreadCount mentionCount } }"
MUTED_ROOMS = "query { rooms { id muted unreadCount mentionCount } }"
MUTED_STATE = "subscription { readStateChanged { roomId muted unreadCount } }"


def mute(gql, token, muted, room="general"):
    return gql(MUTE, {"input": {"roomId": room, "muted": muted}}, token=token)


def muted_rooms(gql, token):
    return {r["id"]: r for r in data(gql(MUTED_ROOMS, token=token), "rooms")}


def test_a_muted_room_is_listed_muted_and_still_counted(gql):
    _, ann = user_with_token("reader")
    _, bob = user_with_token("reader", username="bob")
    make_room("quiet")
    post_now(gql, ann, "hi @bob")
    assert {room["muted"] for room in muted_rooms(gql, bob).values()} == {False}, "nothing is muted at first"

    answer = data(mute(gql, bob, True), "muteRoom")
    assert answer == {"roomId": "general", "muted": True, "unreadCount": 1, "mentionCount": 1}
    rooms = muted_rooms(gql, bob)
    assert (rooms["general"]["muted"], rooms["quiet"]["muted"]) == (True, False)
    assert muted_rooms(gql, ann)["general"]["muted"] is False, "muting is the caller's own"
    post_now(gql, ann, "more @bob")
    assert muted_rooms(gql, bob)["general"]["unreadCount"] == 2, "a muted room is still counted"
    # Reading a muted room keeps it muted; unmuting brings it back.
    assert "errors" not in mark(gql, bob, 10**6)
    assert muted_rooms(gql, bob)["general"]["muted"] is True
    assert data(mute(gql, bob, False), "muteRoom")["muted"] is False
    assert muted_rooms(gql, bob)["general"]["muted"] is False


def test_mute_room_refuses_what_it_must(gql, settings):
    from rooms.services import create_room
    from django.contrib.auth import get_user_model

    owner, _ = user_with_token("reader")
    _, bob = user_with_token("reader")
    create_room(room_id="secret", name="Secret", user=get_user_model().objects.get(pk=owner.pk), is_private=True)
    assert error_code(mute(gql, bob, True, room="nowhere")) == "NOT_FOUND"
    assert error_code(mute(gql, bob, True, room="secret")) == "NOT_FOUND", "a private room you are not in"
    assert error_code(mute(gql, None, True)) == "UNAUTHENTICATED"
    assert error_code(gql(MUTE, {"input": {"roomId": "general", "muted": None}}, token=bob)) == "BAD_USER_INPUT"
    settings.MUTE_ROOM_RATE_LIMIT = 3
    answers = [mute(gql, bob, n % 2 == 0) for n in range(4)]
    assert ["errors" in answer for answer in answers] == [False, False, False, True]
    assert error_code(answers[-1]) == "RATE_LIMITED"


@pytest.mark.django_db(transaction=True)
def test_the_users_other_sessions_hear_of_a_mute(embedded_web, general):
    _, bob = user_with_token("reader")
    api = OverHttp(embedded_web.url)
    with Socket(embedded_web.ws_url).init(bob) as other_tab:
        reads = other_tab.subscribe(MUTED_STATE)
        flips = iter([True, False] * 5)

        def mute_or_unmute():
            data(api(MUTE, {"input": {"roomId": "general", "muted": next(flips)}}, token=bob))

        heard = until_heard(other_tab, reads, mute_or_unmute, tries=10, timeout=1)["readStateChanged"]
        assert heard["roomId"] == "general" and heard["unreadCount"] == 0 and isinstance(heard["muted"], bool)
        while True:  # any later flip heard late: the newest state
            try:
                heard = other_tab.next_payload(reads, timeout=1.5)["readStateChanged"]
            except TimeoutError:
                break
        now = data(api(MUTE, {"input": {"roomId": "general", "muted": not heard["muted"]}}, token=bob), "muteRoom")
        assert other_tab.next_payload(reads)["readStateChanged"] == {"roomId": "general", "muted": now["muted"], "unreadCount": 0}
        # Muting to what it already is changes nothing and says nothing.
        data(api(MUTE, {"input": {"roomId": "general", "muted": now["muted"]}}, token=bob))
        other_tab.assert_silent()

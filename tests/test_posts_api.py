"""createPost and posts over GraphQL, on the embedded default (tasks run in-process)."""
import pytest
from django.contrib.auth import get_user_model

from posts.models import Post, PostRequest
from rooms.models import Room
from tests.clients import POSTS, error_code, sign_up
from tests.helpers import add_post, create_post, history

CREATE_ROOM = "mutation($input: CreateRoomInput!) { createRoom(input: $input) { id name createdAt } }"
ROOMS = "{ rooms { id name } }"


@pytest.fixture
def alice(gql):
    return sign_up(gql, "alice")[0]


def database_state():
    return (
        list(Post.objects.values_list("id", "body")),
        PostRequest.objects.count(),
        list(Room.objects.values_list("id", "name", "locked")),
        get_user_model().objects.count(),
    )


def test_general_exists_from_the_first_migration(gql, alice):
    assert {"id": "general", "name": "General"} in gql(ROOMS, token=alice)["data"]["rooms"]


def test_a_post_is_stored_and_read_back(gql, alice):
    result = create_post(gql, alice, "hello, world")
    assert result["data"]["createPost"]["success"] is True
    request_id = result["data"]["createPost"]["requestId"]
    [stored] = history(gql, alice)
    assert stored["body"] == "hello, world"
    assert stored["author"] == "alice"
    assert stored["isBot"] is False
    assert stored["roomId"] == "general"
    assert str(Post.objects.get().request_id) == request_id


def test_the_same_client_id_is_stored_once(gql, alice):
    first = create_post(gql, alice, "once", client_id="c-1")["data"]["createPost"]["requestId"]
    again = create_post(gql, alice, "once", client_id="c-1")["data"]["createPost"]["requestId"]
    assert first == again
    assert [p["body"] for p in history(gql, alice)] == ["once"]


def test_history_is_oldest_first_and_pages_both_ways(gql, alice):
    for n in range(60):
        add_post("general", f"p{n}", author="alice")
    newest = history(gql, alice)
    assert [p["body"] for p in newest] == [f"p{n}" for n in range(10, 60)]
    assert [p["seq"] for p in newest] == list(range(11, 61))
    older = history(gql, alice, before=newest[0]["seq"], limit=5)
    assert [p["body"] for p in older] == [f"p{n}" for n in range(5, 10)]
    caught_up = history(gql, alice, after=newest[-3]["seq"])
    assert [p["body"] for p in caught_up] == ["p58", "p59"]
    assert [p["body"] for p in history(gql, alice, after=newest[0]["seq"], limit=2)] == ["p11", "p12"]


def test_anyone_logged_in_can_create_a_room(gql, alice):
    room = gql(CREATE_ROOM, {"input": {"id": "random-talk", "name": "Random talk"}}, token=alice)["data"]["createRoom"]
    assert room["id"] == "random-talk"
    create_post(gql, alice, "first!", room="random-talk")
    assert [p["body"] for p in history(gql, alice, room="random-talk")] == ["first!"]
    assert history(gql, alice) == []


# --- every bad input answers its code and stores nothing ---

BAD_POSTS = [
    ("", "general", "BAD_USER_INPUT"),
    ("   \n\t ", "general", "BAD_USER_INPUT"),
    ("x" * 2001, "general", "BAD_USER_INPUT"),
    ("hello", "no-such-room", "NOT_FOUND"),
]


@pytest.mark.parametrize("body, room, code", BAD_POSTS, ids=["empty", "whitespace", "2001 chars", "unknown room"])
def test_bad_post_is_refused_with_its_code(gql, alice, body, room, code):
    before = database_state()
    assert error_code(create_post(gql, alice, body, room=room)) == code
    assert database_state() == before


def test_a_body_of_exactly_2000_characters_is_accepted(gql, alice):
    assert create_post(gql, alice, "y" * 2000)["data"]["createPost"]["success"]


def test_posting_without_credentials_is_unauthenticated(gql, general):
    before = database_state()
    assert error_code(create_post(gql, None, "hi")) == "UNAUTHENTICATED"
    assert error_code(create_post(gql, "not-a-token", "hi")) == "UNAUTHENTICATED"
    assert database_state() == before


def test_a_deactivated_user_cannot_post(gql, alice):
    get_user_model().objects.filter(username="alice").update(is_active=False)
    before = database_state()
    assert error_code(create_post(gql, alice, "still here?")) == "FORBIDDEN"
    assert database_state() == before


def test_a_locked_room_refuses_posts(gql, alice):
    Room.objects.filter(pk="general").update(locked=True)
    before = database_state()
    assert error_code(create_post(gql, alice, "anyone?")) == "FORBIDDEN"
    assert database_state() == before


def test_the_eleventh_post_in_five_seconds_is_rate_limited(gql, alice):
    for n in range(10):
        assert "errors" not in create_post(gql, alice, f"n{n}")
    before = database_state()
    refused = create_post(gql, alice, "one too many")
    assert error_code(refused) == "RATE_LIMITED"
    assert "try again in" in refused["errors"][0]["message"], "the error says when to retry"
    assert database_state() == before


def test_the_rate_limit_is_per_user(gql, alice):
    for n in range(10):
        create_post(gql, alice, f"n{n}")
    bob, _, _ = sign_up(gql, "bob")
    assert "errors" not in create_post(gql, bob, "my turn")


@pytest.mark.parametrize(
    "cursor",
    [{"limit": 0}, {"limit": 51}, {"before": "abc"}, {"after": "-1"}, {"before": "1", "after": "2"}],
    ids=["limit 0", "limit 51", "bad before", "negative after", "both cursors"],
)
def test_bad_history_requests_are_bad_user_input(gql, alice, cursor):
    assert error_code(gql(POSTS, {"input": {"roomId": "general", **cursor}}, token=alice)) == "BAD_USER_INPUT"


def test_history_of_an_unknown_room_is_not_found(gql, alice):
    assert error_code(gql(POSTS, {"input": {"roomId": "nowhere"}}, token=alice)) == "NOT_FOUND"


@pytest.mark.parametrize(
    "room_id, name",
    [("general", "Again"), ("Has Spaces", "x"), ("", "x"), ("ok-id", ""), ("ok-id", "n" * 101)],
    ids=["duplicate", "not a slug", "empty id", "empty name", "long name"],
)
def test_bad_room_is_bad_user_input_and_stores_nothing(gql, alice, room_id, name):
    before = database_state()
    assert error_code(gql(CREATE_ROOM, {"input": {"id": room_id, "name": name}}, token=alice)) == "BAD_USER_INPUT"
    assert database_state() == before


def test_errors_show_no_internal_detail(gql, alice, monkeypatch):
    from posts import selectors

    def broken(**kwargs):
        raise RuntimeError("SELECT secret FROM internals")

    monkeypatch.setattr(selectors, "room_history", broken)
    result = gql(POSTS, {"input": {"roomId": "general"}}, token=alice)
    assert result["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in str(result) and "Traceback" not in str(result)


def test_bot_quote_is_posted_by_the_bot_and_the_command_is_not_stored(gql, alice):
    create_post(gql, alice, "/stock=aapl.us")
    [quote] = history(gql, alice)
    assert quote["body"] == "AAPL.US quote is $93.42 per share"
    assert quote["author"] == "StockBot"
    assert quote["isBot"] is True
    assert quote["userId"] is None


def test_time_command_is_answered_by_the_bot_in_the_room(gql, alice):
    create_post(gql, alice, "/time Europe/Paris")
    [answer] = history(gql, alice)
    assert answer["body"].startswith("Time in Europe/Paris: ") and answer["isBot"] is True


def test_formatted_text_is_returned_as_sent(gql, alice):
    """Markdown and HTML alike: the API returns the text as sent; only clients draw it."""
    body = "**bold** <script>x()</script>\n> quote\n- [l](javascript:x) `c`\n```\n<b>\n```"
    create_post(gql, alice, body)
    [post] = history(gql, alice)
    assert post["body"] == body


def test_bot_error_stores_nothing(gql, alice):
    create_post(gql, alice, "/stock=nope.us")
    create_post(gql, alice, "/help")
    assert history(gql, alice) == []


HOSTILE_BODIES = {
    "lone-surrogate": "x\ud800y",
    "nul": "a\x00b",
    "invisible-only": "\u200b\u200d\ufeff\u3164",
    "control": "bell\x07",
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_a_body_that_cant_be_stored_or_read_is_refused_and_nothing_is_stored(gql, alice, body):
    assert error_code(create_post(gql, alice, body)) == "BAD_USER_INPUT"
    assert (Post.objects.count(), PostRequest.objects.count()) == (0, 0)


def test_newlines_and_tabs_in_a_post_are_fine(gql, alice):
    assert "errors" not in create_post(gql, alice, "line one\n\tline two")


@pytest.mark.parametrize("room_id, client_id, code", [
    ("gen\x00eral", None, "NOT_FOUND"),
    ("general", "c\x00d", "BAD_USER_INPUT"),
    ("general", "c\ud800", "BAD_USER_INPUT"),
])
def test_hostile_ids_get_the_contracts_code(gql, alice, room_id, client_id, code):
    assert error_code(create_post(gql, alice, "hello", room=room_id, client_id=client_id)) == code
    assert not PostRequest.objects.exists()


@pytest.mark.parametrize("name", ["\u200b", "evil\u202eexe.txt", "a\x00b", "GENERAL", "x\ud800"],
                         ids=["invisible", "bidi-override", "nul", "same-name-other-case", "lone-surrogate"])
def test_room_names_that_mislead_or_cant_be_stored_are_refused(gql, alice, name):
    rooms_before = Room.objects.count()
    result = gql(CREATE_ROOM, {"input": {"id": "newroom", "name": name}}, token=alice)
    assert error_code(result) == "BAD_USER_INPUT"
    assert Room.objects.count() == rooms_before

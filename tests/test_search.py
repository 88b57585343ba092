"""searchPosts: a room's posts by words, newest first, over GraphQL in process.

The same file runs on SQLite (the embedded default: every word as a substring) and on
PostgreSQL (DATABASE_URL: full-text search, `simple` configuration, web-search syntax); the
few behaviours that differ between the two are tested on their own database only.
"""
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from posts.models import Post
from posts.search import SEARCH_QUERY_MAX_LENGTH, SEARCH_WORDS_MAX
from rooms.models import Room
from rooms.services import create_room
from tests.clients import POSTS, error_code, sign_up
from tests.helpers import add_post, add_posts

SEARCH = """query($input: SearchPostsInput!) {
  searchPosts(input: $input) { id roomId seq userId author body isBot createdAt }
}"""


@pytest.fixture
def alice(gql):
    return sign_up(gql, "alice")[0]


def search(gql, token, query, room="general", **extra):
    return gql(SEARCH, {"input": {"roomId": room, "query": query, **extra}}, token=token)


def found(gql, token, query, room="general", **extra):
    result = search(gql, token, query, room=room, **extra)
    assert "errors" not in result, result
    return [post["body"] for post in result["data"]["searchPosts"]]


# --- what matches ---


def test_every_word_matches_whatever_its_case_and_order(gql, alice):
    add_post("general", "Apple shares are up today")
    add_post("general", "apple pie for lunch")
    add_post("general", "Shares of APPLE fell")
    add_post("general", "nothing to see here")
    newest_first = ["Shares of APPLE fell", "Apple shares are up today"]
    assert found(gql, alice, "apple shares") == newest_first
    assert found(gql, alice, "SHARES Apple") == newest_first
    assert found(gql, alice, "  apple   ") == ["Shares of APPLE fell", "apple pie for lunch", "Apple shares are up today"]


def test_a_word_that_is_not_there_finds_nothing(gql, alice):
    add_post("general", "Apple shares are up today")
    assert found(gql, alice, "apple bananas") == []
    assert found(gql, alice, "bananas") == []


def test_other_rooms_posts_never_appear(gql, alice):
    create_room(room_id="stocks", name="Stocks")
    add_post("general", "apple in general")
    add_post("stocks", "apple in stocks")
    add_post("stocks", "apple again in stocks")
    assert found(gql, alice, "apple") == ["apple in general"]
    assert found(gql, alice, "apple", room="stocks") == ["apple again in stocks", "apple in stocks"]
    assert found(gql, alice, "stocks") == []


def test_results_have_the_shape_of_the_history(gql, alice):
    alice_id = get_user_model().objects.get(username="alice").pk
    Post.objects.filter(pk=add_post("general", "the quote, please", author="alice").pk).update(user_id=alice_id)
    add_post("general", "AAPL.US quote is $93.42 per share", author="StockBot", is_bot=True)
    history = gql(POSTS, {"input": {"roomId": "general"}}, token=alice)["data"]["posts"]
    results = search(gql, alice, "quote")["data"]["searchPosts"]
    assert results == list(reversed(history))
    assert results[0]["isBot"] is True and results[0]["userId"] is None
    assert results[1]["userId"] == str(alice_id) and results[1]["author"] == "alice"


def test_newest_first_at_most_limit(gql, alice):
    for n in range(60):
        add_post("general", f"tick {n}")
    default = search(gql, alice, "tick")["data"]["searchPosts"]
    assert [p["body"] for p in default] == [f"tick {n}" for n in range(59, 39, -1)]  # 20 by default
    assert [p["seq"] for p in default] == sorted((p["seq"] for p in default), reverse=True)
    assert found(gql, alice, "tick", limit=3) == ["tick 59", "tick 58", "tick 57"]
    assert len(found(gql, alice, "tick", limit=50)) == 50


def test_wildcards_and_markup_are_plain_text(gql, alice):
    add_post("general", "a discount of 100% today")
    add_post("general", "1000 reasons")
    add_post("general", "abc")
    add_post("general", "<b>bold</b> claims")
    assert found(gql, alice, "100%") == ["a discount of 100% today"]
    assert found(gql, alice, "a_c") == []
    assert found(gql, alice, "'; DROP TABLE posts_post; --") == []
    assert found(gql, alice, "bold claims") == ["<b>bold</b> claims"]
    # PostgreSQL's parser leaves what looks like a tag out of the words it indexes, so a tag
    # itself finds nothing there; SQLite matches it as characters. Neither is an error.
    assert found(gql, alice, "<b>bold</b>") in ([], ["<b>bold</b> claims"])
    assert Post.objects.count() == 4


def test_words_in_any_script(gql, alice):
    add_post("general", "Ärger über den Kurs")
    add_post("general", "Привет, мир")
    assert found(gql, alice, "kurs ärger") == ["Ärger über den Kurs"]
    assert found(gql, alice, "привет") == ["Привет, мир"]


def test_words_match_as_this_database_matches_them(gql, alice):
    """No skip on either database (CI runs PostgreSQL, a newcomer SQLite): each checks its own."""
    if connection.vendor == "postgresql":
        postgresql_whole_words_match_and_web_search_syntax_works(gql, alice)
    else:
        sqlite_each_word_matches_as_a_substring(gql, alice)


def postgresql_whole_words_match_and_web_search_syntax_works(gql, alice):
    add_post("general", "apple pie for lunch")
    add_post("general", "pie and apple shares")
    add_post("general", "pineapple")
    add_post("general", "Ärger im Büro")
    assert found(gql, alice, "app") == []
    assert found(gql, alice, "apple") == ["pie and apple shares", "apple pie for lunch"]
    assert found(gql, alice, '"apple pie"') == ["apple pie for lunch"]
    assert found(gql, alice, "apple -lunch") == ["pie and apple shares"]
    assert found(gql, alice, "lunch or shares") == ["pie and apple shares", "apple pie for lunch"]
    assert found(gql, alice, "ÄRGER") == ["Ärger im Büro"]  # case folds beyond ASCII
    assert found(gql, alice, "!!! ???") == []  # no words PostgreSQL can search for: nothing, not an error


def sqlite_each_word_matches_as_a_substring(gql, alice):
    add_post("general", "apple pie for lunch")
    add_post("general", "pineapple")
    assert found(gql, alice, "app") == ["pineapple", "apple pie for lunch"]
    assert found(gql, alice, "PIE lunch") == ["apple pie for lunch"]
    assert found(gql, alice, '"apple pie"') == []  # no search syntax: the quotes are characters to find


def test_deleted_posts_are_not_found(gql, alice):
    gone = add_post("general", "apple, deleted")
    add_post("general", "apple, kept")
    # The body is kept here on purpose: the search must leave deleted posts out by their mark.
    Post.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    assert found(gql, alice, "apple") == ["apple, kept"]


def test_a_private_room_is_searched_by_its_members_alone(gql, alice):
    from rooms.models import RoomMember

    secret = Room.objects.create(id="secret", name="Secret", is_private=True)
    add_post(secret, "apple, between us")
    bob, _, _ = sign_up(gql, "bob")
    refused = search(gql, bob, "apple", room="secret")
    # Word for word the answer for a room that doesn't exist: the room's existence doesn't leak.
    assert error_code(refused) == "NOT_FOUND"
    assert refused["errors"][0]["message"] == search(gql, bob, "apple", room="nosuch")["errors"][0]["message"].replace("nosuch", "secret")
    RoomMember.objects.create(room=secret, user=get_user_model().objects.get(username="bob"))
    assert found(gql, bob, "apple", room="secret") == ["apple, between us"]


def test_a_locked_room_can_still_be_searched(gql, alice):
    add_post("general", "before the lock")
    Room.objects.filter(pk="general").update(locked=True)
    assert found(gql, alice, "lock") == ["before the lock"]


# --- bounds and errors ---


def test_the_longest_and_wordiest_searches_are_accepted(gql, alice):
    add_post("general", " ".join(f"w{n}" for n in range(SEARCH_WORDS_MAX)))
    assert found(gql, alice, " ".join(f"w{n}" for n in range(SEARCH_WORDS_MAX))) != []
    assert found(gql, alice, "x" * SEARCH_QUERY_MAX_LENGTH) == []


@pytest.mark.parametrize(
    "query, extra",
    [
        ("x" * (SEARCH_QUERY_MAX_LENGTH + 1), {}),
        (" ".join(["word"] * (SEARCH_WORDS_MAX + 1)), {}),
        ("", {}),
        ("  \t ", {}),
        ("\u200b \u2060", {}),
        ("a\x00b", {}),
        ("x\ud800y", {}),
        ("apple", {"limit": 0}),
        ("apple", {"limit": 51}),
        ("apple", {"limit": None}),
    ],
    ids=[
        "201 characters", "11 words", "empty", "whitespace", "invisible only", "NUL", "lone surrogate",
        "limit 0", "limit 51", "limit null",
    ],
)
def test_bad_searches_are_bad_user_input(gql, alice, query, extra):
    add_post("general", "apple")
    result = search(gql, alice, query, **extra)
    assert error_code(result) == "BAD_USER_INPUT"
    assert result["data"] is None


def test_an_unknown_room_is_not_found(gql, alice):
    assert error_code(search(gql, alice, "apple", room="nowhere")) == "NOT_FOUND"
    assert error_code(search(gql, alice, "apple", room="Not A Slug")) == "NOT_FOUND"


def test_searching_needs_a_signed_in_active_user(gql, alice):
    add_post("general", "apple")
    assert error_code(search(gql, None, "apple")) == "UNAUTHENTICATED"
    assert error_code(search(gql, "not-a-token", "apple")) == "UNAUTHENTICATED"
    get_user_model().objects.filter(username="alice").update(is_active=False)
    assert error_code(search(gql, alice, "apple")) == "FORBIDDEN"


def test_search_costs_one_query_per_step(gql, alice, django_assert_max_num_queries):
    for n in range(30):
        add_post("general", f"apple {n}")
    # The user, the room, the posts: not one query per post. PostgreSQL also sets the
    # search's time limit and puts it back, in a transaction (here a savepoint) of its own.
    with django_assert_max_num_queries(7 if connection.vendor == "postgresql" else 4):
        assert len(found(gql, alice, "apple", limit=30)) == 30



# --- what one search may cost, whatever the room's size ---


def test_a_query_asks_for_one_search(gql, alice):
    add_post("general", "apple")
    one = "{ a: searchPosts(input: {roomId: \"general\", query: \"apple\"}) { body } }"
    assert gql(one, token=alice)["data"] == {"a": [{"body": "apple"}]}
    # Aliases, or a fragment spreading it again, would multiply one search's bound.
    aliases = "{ " + " ".join(f'a{n}: searchPosts(input: {{roomId: "general", query: "x{n}"}}) {{ id }}' for n in range(2)) + " }"
    spread = (
        'query { ...s searchPosts(input: {roomId: "general", query: "apple"}) { id } } '
        'fragment s on Query { again: searchPosts(input: {roomId: "general", query: "pear"}) { id } }'
    )
    for document in (aliases, spread):
        refused = gql(document, token=alice)
        assert error_code(refused) == "BAD_USER_INPUT"
        assert "once" in refused["errors"][0]["message"]
        assert refused.get("data") is None, "nothing of it runs"


def test_a_search_is_bounded_on_this_database(gql, alice, settings):
    """No skip on either database: each shows its own bound."""
    if connection.vendor == "postgresql":
        postgresql_cuts_a_search_at_its_time_limit(gql, alice, settings)
    else:
        sqlite_searches_the_newest_posts_only(gql, alice, settings)


def postgresql_cuts_a_search_at_its_time_limit(gql, alice, settings):
    # Every post has the word, and the query leaves it out: no index spares reading each one.
    add_posts("general", 5000, "apple {n}")
    settings.SEARCH_TIMEOUT_MS = 1
    refused = search(gql, alice, "apple -apple")
    assert error_code(refused) == "BAD_USER_INPUT"
    assert "too long" in refused["errors"][0]["message"]
    assert "select" not in refused["errors"][0]["message"].lower()
    # The timeout was this search's alone: the connection answers as before.
    settings.SEARCH_TIMEOUT_MS = 60_000
    assert found(gql, alice, "apple 4999") == ["apple 4999"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


def sqlite_searches_the_newest_posts_only(gql, alice, settings):
    settings.SEARCH_SCAN_MAX = 100
    add_post("general", "needle, long ago")
    add_posts("general", 99, "hay {n}")
    add_post("general", "needle, lately")
    # The newest 100 posts hold one needle; the older one is past what a search reads.
    assert found(gql, alice, "needle") == ["needle, lately"]
    settings.SEARCH_SCAN_MAX = 101
    assert found(gql, alice, "needle") == ["needle, lately", "needle, long ago"]

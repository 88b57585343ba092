"""Private rooms and direct messages: only members see, read, subscribe to and post in a
private room; to anyone else every path answers exactly as for a room that doesn't exist.

Over GraphQL in process (Django's test client), the pages, and a started embedded `web`
process for the WebSocket subscriptions.
"""
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from posts.models import Post, PostRequest
from posts.public_ids import public_post_id
from rooms.models import Room, RoomMember
from rooms.services import add_room_member, create_room
from tests.clients import POSTS, InProcess, OverHttp, Socket, data, error_code, wait_memberships
from tests.helpers import add_post, create_post, posted, user_with_token

ROOM_FIELDS = "id name isPrivate isDirect"
CREATE_ROOM = f"mutation($input: CreateRoomInput!) {{ createRoom(input: $input) {{ {ROOM_FIELDS} }} }}"
ADD_MEMBER = f"mutation($input: AddRoomMemberInput!) {{ addRoomMember(input: $input) {{ {ROOM_FIELDS} }} }}"
OPEN_DM = f"mutation($input: OpenDirectMessageInput!) {{ openDirectMessage(input: $input) {{ {ROOM_FIELDS} }} }}"
ROOMS = f"{{ rooms {{ {ROOM_FIELDS} }} }}"
SEARCH = "query($input: SearchPostsInput!) { searchPosts(input: $input) { id roomId body } }"
EDIT = "mutation($input: EditPostInput!) { editPost(input: $input) { id body } }"
DELETE = "mutation($input: DeletePostInput!) { deletePost(input: $input) { success } }"
MARK_READ = "mutation($input: MarkReadInput!) { markRead(input: $input) { roomId lastReadSeq } }"
POST_CREATED = "subscription($input: PostCreatedInput!) { postCreated(input: $input) { id seq roomId author body } }"
ROOM_EVENTS = "subscription($input: RoomEventsInput!) { roomEvents(input: $input) { seq kind post { id body } } }"
QUOTE = "AAPL.US quote is $93.42 per share"

SECRET = "hideout"
MISSING = "nowhere"


def like_missing(hidden, missing, hidden_id=SECRET, missing_id=MISSING):
    """The answer about the private room is, word for word, the answer about no room."""
    assert error_code(hidden) == "NOT_FOUND", hidden
    assert json.dumps(hidden).replace(hidden_id, "<room>") == json.dumps(missing).replace(missing_id, "<room>"), (
        hidden,
        missing,
    )


@pytest.fixture
def people(gql):
    """alice made the private room and added bob; carol is outside it."""
    alice, a = user_with_token("priv")
    bob, b = user_with_token("priv")
    carol, c = user_with_token("priv")
    room = data(gql(CREATE_ROOM, {"input": {"id": SECRET, "name": "Hideout", "isPrivate": True}}, token=a), "createRoom")
    assert room == {"id": SECRET, "name": "Hideout", "isPrivate": True, "isDirect": False}
    data(gql(ADD_MEMBER, {"input": {"roomId": SECRET, "username": bob.username}}, token=a), "addRoomMember")
    return {"alice": (alice, a), "bob": (bob, b), "carol": (carol, c)}


def history(gql, token, room=SECRET, **cursor):
    return gql(POSTS, {"input": {"roomId": room, **cursor}}, token=token)


def search(gql, token, query, room=SECRET):
    return gql(SEARCH, {"input": {"roomId": room, "query": query}}, token=token)


# --- an outsider finds nothing, by any path ---


def test_a_private_room_is_listed_only_for_its_members(gql, people):
    for name in ("alice", "bob"):
        rooms = data(gql(ROOMS, token=people[name][1]), "rooms")
        assert {"id": SECRET, "name": "Hideout", "isPrivate": True, "isDirect": False} in rooms
    carols = data(gql(ROOMS, token=people["carol"][1]), "rooms")
    assert SECRET not in [room["id"] for room in carols]
    assert {"id": "general", "name": "General", "isPrivate": False, "isDirect": False} in carols


@pytest.mark.parametrize("cursor", [{}, {"before": 5}, {"after": 0}, {"after": 1, "limit": 1}], ids=str)
def test_an_outsider_reads_no_history(gql, people, cursor):
    add_post(SECRET, "the plan")
    _, carol = people["carol"]
    like_missing(history(gql, carol, **cursor), history(gql, carol, room=MISSING, **cursor))
    assert [p["body"] for p in data(history(gql, people["bob"][1], **cursor), "posts")] in (["the plan"], [])


@pytest.mark.parametrize("body", ["let me in", "/stock=aapl.us"])
def test_an_outsider_can_not_post_nor_ask_the_bot(gql, people, stooq, body):
    _, carol = people["carol"]
    asked_stooq = len(stooq.requests)
    requests_before, posts_before = PostRequest.objects.count(), Post.objects.count()
    like_missing(create_post(gql, carol, body, SECRET), create_post(gql, carol, body, room=MISSING))
    assert (PostRequest.objects.count(), Post.objects.count()) == (requests_before, posts_before)
    assert len(stooq.requests) == asked_stooq, "the bot was never asked"


def test_an_outsider_finds_nothing_by_search(gql, people):
    add_post(SECRET, "apple shares")
    _, carol = people["carol"]
    like_missing(search(gql, carol, "apple"), search(gql, carol, "apple", room=MISSING))
    assert [p["body"] for p in data(search(gql, people["bob"][1], "apple"), "searchPosts")] == ["apple shares"]


def test_an_outsider_can_not_edit_or_delete_a_post_there(gql, people):
    alice, a = people["alice"]
    _, carol = people["carol"]
    stored = Post.objects.get(request_id=data(create_post(gql, a, "mine", SECRET), "createPost")["requestId"])
    nothing = 987654321
    assert error_code(gql(EDIT, {"input": {"postId": public_post_id(stored.pk), "body": "x"}}, token=carol)) == "NOT_FOUND"
    assert gql(EDIT, {"input": {"postId": public_post_id(stored.pk), "body": "x"}}, token=carol) == gql(
        EDIT, {"input": {"postId": public_post_id(nothing), "body": "x"}}, token=carol
    )
    assert gql(DELETE, {"input": {"postId": public_post_id(stored.pk)}}, token=carol) == gql(
        DELETE, {"input": {"postId": public_post_id(nothing)}}, token=carol
    )
    assert error_code(gql(DELETE, {"input": {"postId": public_post_id(stored.pk)}}, token=carol)) == "NOT_FOUND"
    stored.refresh_from_db()
    assert (stored.body, stored.edited_at, stored.deleted_at) == ("mine", None, None)


def test_an_outsider_can_not_mark_it_read(gql, people):
    _, carol = people["carol"]
    variables = {"input": {"roomId": SECRET, "seq": 0}}
    like_missing(gql(MARK_READ, variables, token=carol), gql(MARK_READ, {"input": {"roomId": MISSING, "seq": 0}}, token=carol))


def test_the_room_page_is_a_404_for_an_outsider_like_no_room(client, people):
    carol, _ = people["carol"]
    client.force_login(carol)
    hidden, missing = client.get(f"/rooms/{SECRET}/"), client.get(f"/rooms/{MISSING}/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    listing = client.get("/").content.decode()
    assert "Hideout" not in listing and SECRET not in listing
    # Nor can an outsider add themselves through the page's form.
    refused = client.post(f"/rooms/{SECRET}/members/", {"username": carol.username})
    assert refused.status_code == 404
    assert not RoomMember.objects.filter(room_id=SECRET, user=carol).exists()


# --- members do everything ---


def test_members_post_read_search_edit_delete_and_ask_the_bot(gql, people):
    _, a = people["alice"]
    bob, b = people["bob"]
    posted(gql, a, "hello bob", SECRET)
    posted(gql, b, "hello alice, apple?", SECRET)
    posted(gql, b, "/stock=aapl.us", SECRET)
    shown = data(history(gql, a), "posts")
    assert [p["body"] for p in shown] == ["hello bob", "hello alice, apple?", QUOTE]
    assert shown[2]["isBot"] is True and shown[2]["roomId"] == SECRET
    assert [p["body"] for p in data(history(gql, b, before=shown[2]["seq"], limit=1), "posts")] == ["hello alice, apple?"]
    assert [p["body"] for p in data(history(gql, b, after=shown[0]["seq"]), "posts")] == ["hello alice, apple?", QUOTE]
    assert [p["body"] for p in data(search(gql, a, "apple"), "searchPosts")] == ["hello alice, apple?"]
    bobs = shown[1]["id"]
    assert data(gql(EDIT, {"input": {"postId": bobs, "body": "hello alice"}}, token=b), "editPost")["body"] == "hello alice"
    assert data(gql(DELETE, {"input": {"postId": bobs}}, token=b), "deletePost") == {"success": True}
    assert [p["body"] for p in data(history(gql, b), "posts")] == ["hello bob", QUOTE]
    # The public rooms are as they were.
    assert data(create_post(gql, b, "hi all", room="general"), "createPost")["success"]
    assert [p["body"] for p in data(history(gql, people["carol"][1], room="general"), "posts")] == ["hi all"]


def test_a_moderator_deletes_a_post_in_a_private_room_without_being_in_it(gql, people):
    _, a = people["alice"]
    _, moderator = user_with_token("priv", staff=True)
    request_id = data(create_post(gql, a, "spam", SECRET), "createPost")["requestId"]
    spam = Post.objects.get(request_id=request_id)
    assert error_code(history(gql, moderator)) == "NOT_FOUND", "a moderator reads it in the admin, not here"
    assert data(gql(DELETE, {"input": {"postId": public_post_id(spam.pk)}}, token=moderator), "deletePost") == {"success": True}
    assert data(history(gql, a), "posts") == []


def test_a_removed_member_loses_the_room_for_new_requests(gql, people):
    bob, b = people["bob"]
    posted(gql, b, "still in", SECRET)
    RoomMember.objects.filter(room_id=SECRET, user=bob).delete()
    like_missing(history(gql, b), history(gql, b, room=MISSING))
    like_missing(create_post(gql, b, "out?", SECRET), create_post(gql, b, "out?", room=MISSING))
    assert SECRET not in [room["id"] for room in data(gql(ROOMS, token=b), "rooms")]


# --- adding members ---


def test_the_creator_adds_members_once_and_others_may_not(gql, people):
    alice, a = people["alice"]
    bob, b = people["bob"]
    carol, c = people["carol"]
    dave, d = user_with_token("priv")
    add = lambda token, username, room=SECRET: gql(ADD_MEMBER, {"input": {"roomId": room, "username": username}}, token=token)  # noqa: E731

    assert error_code(add(b, dave.username)) == "FORBIDDEN", "a member who isn't the creator"
    like_missing(add(c, carol.username), add(c, carol.username, room=MISSING))
    assert error_code(add(a, "nobody-by-that-name")) == "NOT_FOUND"
    assert error_code(add(a, dave.username, room="general")) == "BAD_USER_INPUT", "a public room has no members"
    inactive, _ = user_with_token("priv")
    get_user_model().objects.filter(pk=inactive.pk).update(is_active=False)
    assert error_code(add(a, inactive.username)) == "NOT_FOUND"

    assert data(add(a, dave.username), "addRoomMember")["id"] == SECRET
    assert data(add(a, dave.username), "addRoomMember")["id"] == SECRET, "adding again changes nothing"
    assert list(RoomMember.objects.filter(room_id=SECRET).order_by("pk").values_list("user__username", flat=True)) == [
        alice.username,
        bob.username,
        dave.username,
    ]
    assert RoomMember.objects.get(room_id=SECRET, user=dave).added_by == alice
    assert SECRET in [room["id"] for room in data(gql(ROOMS, token=d), "rooms")]

    _, moderator = user_with_token("priv", staff=True)
    assert data(add(moderator, carol.username), "addRoomMember")["id"] == SECRET, "a moderator may add"
    assert data(history(gql, c), "posts") == []


def test_a_private_room_name_does_not_block_or_reveal_others_names(gql, people):
    _, c = people["carol"]
    made = data(gql(CREATE_ROOM, {"input": {"id": "hideout-2", "name": "Hideout"}}, token=c), "createRoom")
    assert made["isPrivate"] is False
    # Its id is the room's address, though: that one is taken for everyone.
    assert error_code(gql(CREATE_ROOM, {"input": {"id": SECRET, "name": "Another"}}, token=c)) == "BAD_USER_INPUT"


# --- direct messages ---


def test_a_direct_message_is_one_private_room_of_two_from_either_side(gql, people):
    alice, a = people["alice"]
    bob, b = people["bob"]
    _, c = people["carol"]
    opened = data(gql(OPEN_DM, {"input": {"username": bob.username}}, token=a), "openDirectMessage")
    low, high = sorted((alice.pk, bob.pk))
    assert opened["id"] == f"dm-{low}-{high}"
    assert opened["isPrivate"] is True and opened["isDirect"] is True
    assert opened["name"] == f"{alice.username} & {bob.username}"
    again = data(gql(OPEN_DM, {"input": {"username": alice.username.upper()}}, token=b), "openDirectMessage")
    assert again == opened
    assert data(gql(OPEN_DM, {"input": {"username": bob.username}}, token=a), "openDirectMessage") == opened
    assert Room.objects.filter(is_direct=True).count() == 1
    assert sorted(RoomMember.objects.filter(room_id=opened["id"]).values_list("user_id", flat=True)) == [low, high]

    posted(gql, b, "psst", room=opened["id"])
    assert [p["body"] for p in data(history(gql, a, room=opened["id"]), "posts")] == ["psst"]
    like_missing(history(gql, c, room=opened["id"]), history(gql, c), hidden_id=opened["id"], missing_id=SECRET)
    assert opened["id"] not in [room["id"] for room in data(gql(ROOMS, token=c), "rooms")]
    assert opened in data(gql(ROOMS, token=a), "rooms")
    # Nobody joins a direct message, not even through a moderator's API call.
    _, moderator = user_with_token("priv", staff=True)
    add = {"input": {"roomId": opened["id"], "username": people["carol"][0].username}}
    assert error_code(gql(ADD_MEMBER, add, token=moderator)) == "BAD_USER_INPUT"


def test_no_direct_message_with_yourself_nobody_or_a_deactivated_user(gql, people):
    alice, a = people["alice"]
    _, b = people["bob"]
    assert error_code(gql(OPEN_DM, {"input": {"username": alice.username}}, token=a)) == "BAD_USER_INPUT"
    assert error_code(gql(OPEN_DM, {"input": {"username": "nobody-by-that-name"}}, token=a)) == "NOT_FOUND"
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert error_code(gql(OPEN_DM, {"input": {"username": alice.username}}, token=b)) == "NOT_FOUND"
    assert not Room.objects.filter(is_direct=True).exists()


def test_create_room_answers_a_private_rooms_id_as_a_public_ones(gql, people):
    """An outsider trying a taken id gets the same answer, word for word but the id, whether
    a public or a private room holds it: the id is taken, nothing more."""
    _, c = people["carol"]
    data(gql(CREATE_ROOM, {"input": {"id": "open-door", "name": "Open door"}}, token=people["alice"][1]), "createRoom")
    answers = []
    for taken in ("open-door", SECRET):
        result = gql(CREATE_ROOM, {"input": {"id": taken, "name": "Something new"}}, token=c)
        [error] = result["errors"]
        answers.append((error["message"].replace(taken, "<id>"), error["extensions"]["code"]))
    assert answers[0] == answers[1] == ("The room id '<id>' is taken.", "BAD_USER_INPUT")


def test_a_direct_room_address_can_not_be_taken_with_create_room(gql, people):
    _, c = people["carol"]
    assert error_code(gql(CREATE_ROOM, {"input": {"id": "dm-1-2", "name": "Squat"}}, token=c)) == "BAD_USER_INPUT"


def test_a_new_direct_message_counts_toward_the_room_limit_reopening_does_not(gql, people, settings):
    settings.ROOMS_PER_MINUTE = 1
    alice, a = people["alice"]
    bob, _ = people["bob"]
    carol, _ = people["carol"]
    # alice made the private room in this minute already.
    assert error_code(gql(OPEN_DM, {"input": {"username": bob.username}}, token=a)) == "RATE_LIMITED"
    _, b = people["bob"]
    data(gql(OPEN_DM, {"input": {"username": alice.username}}, token=b), "openDirectMessage")
    assert data(gql(OPEN_DM, {"input": {"username": bob.username}}, token=a), "openDirectMessage")["isDirect"]
    assert error_code(gql(OPEN_DM, {"input": {"username": carol.username}}, token=b)) == "RATE_LIMITED"


# --- the pages ---


def test_pages_list_private_and_direct_rooms_and_open_a_direct_message(client, people):
    alice, a = people["alice"]
    bob, _ = people["bob"]
    client.force_login(bob)
    listing = client.get("/").content.decode()
    assert "Hideout" in listing and 'title="Private: members only"' in listing

    asked = client.get(f"/dm/{alice.username}/")
    assert asked.status_code == 200 and f"Message {alice.username}" in asked.content.decode()
    opened = client.post(f"/dm/{alice.username}/")
    low, high = sorted((alice.pk, bob.pk))
    assert opened.status_code == 302 and opened.url == f"/rooms/dm-{low}-{high}/"
    assert client.get(f"/dm/{alice.username}/").url == opened.url, "once open, the link goes straight there"
    assert f"Direct: {alice.username}" in client.get("/").content.decode()
    assert client.post(f"/dm/{bob.username}/").status_code == 400
    assert client.post("/dm/nobody-by-that-name/").status_code == 404


def test_the_creator_adds_a_member_from_the_room_page(client, people):
    alice, _ = people["alice"]
    bob, _ = people["bob"]
    dave, _ = user_with_token("priv")
    client.force_login(alice)
    page = client.get(f"/rooms/{SECRET}/").content.decode()
    assert 'id="add-member-form"' in page and bob.username in page
    added = client.post(f"/rooms/{SECRET}/members/", {"username": dave.username}, follow=True)
    assert f"{dave.username} is a member now." in added.content.decode()
    assert RoomMember.objects.filter(room_id=SECRET, user=dave).exists()
    refused = client.post(f"/rooms/{SECRET}/members/", {"username": "nobody-by-that-name"}, follow=True)
    assert "There is no user" in refused.content.decode()

    client.force_login(bob)
    assert 'id="add-member-form"' not in client.get(f"/rooms/{SECRET}/").content.decode()


def test_the_create_room_form_makes_a_private_room(client, people):
    carol, _ = people["carol"]
    client.force_login(carol)
    made = client.post("/", {"name": "Carol's corner", "room_id": "corner", "private": "on"})
    assert made.status_code == 302
    room = Room.objects.get(pk="corner")
    assert room.is_private and room.created_by == carol
    assert list(RoomMember.objects.filter(room=room).values_list("user", flat=True)) == [carol.pk]


def test_an_authors_name_links_to_a_direct_message(client, people):
    alice, a = people["alice"]
    bob, _ = people["bob"]
    gql = InProcess(Client())
    posted(gql, a, "hi", SECRET)
    client.force_login(bob)
    page = client.get(f"/rooms/{SECRET}/").content.decode()
    assert f'href="/dm/{alice.username}/"' in page
    client.force_login(alice)
    assert f'href="/dm/{alice.username}/"' not in client.get(f"/rooms/{SECRET}/").content.decode(), "not to yourself"


# --- WebSocket subscriptions, on a started embedded web process ---


def subscription_refusal(socket, query, room_id, after):
    """The error a subscription gets, its operation id left out."""
    variables = {"input": {"roomId": room_id, **({} if after is None else {"after": after})}}
    op_id = socket.subscribe(query, variables)
    message = socket.recv()
    assert message["type"] == "error" and message["id"] == op_id, message
    return {"type": message["type"], "payload": message["payload"]}


@pytest.mark.django_db(transaction=True)
def test_subscriptions_to_a_private_room_are_members_only(embedded_web, general):

    alice, a = user_with_token("priv")
    bob, b = user_with_token("priv")
    carol, c = user_with_token("priv")
    _, staff = user_with_token("priv", staff=True)
    create_room(room_id=SECRET, name="Hideout", user=alice, is_private=True)
    add_room_member(user=alice, room_id=SECRET, username=bob.username)
    api = OverHttp(embedded_web.url)
    posted(api, a, "first", SECRET)
    wait_memberships(embedded_web, staff, 0)

    with Socket(embedded_web.ws_url).init(c) as outsider:
        for query in (POST_CREATED, ROOM_EVENTS):
            for after in (None, 0, 1):
                hidden = subscription_refusal(outsider, query, SECRET, after)
                missing = subscription_refusal(outsider, query, MISSING, after)
                assert [e["extensions"]["code"] for e in hidden["payload"]] == ["NOT_FOUND"], hidden
                assert json.dumps(hidden).replace(SECRET, "<room>") == json.dumps(missing).replace(MISSING, "<room>")
    wait_memberships(embedded_web, staff, 0)

    with Socket(embedded_web.ws_url).init(b) as member:
        replay_posts = member.subscribe(POST_CREATED, {"input": {"roomId": SECRET, "after": 0}})
        assert member.next_payload(replay_posts)["postCreated"]["body"] == "first"
        replay_events = member.subscribe(ROOM_EVENTS, {"input": {"roomId": SECRET, "after": 0}})
        assert member.next_payload(replay_events)["roomEvents"]["post"]["body"] == "first"
        live_posts = member.subscribe(POST_CREATED, {"input": {"roomId": SECRET}})
        live_events = member.subscribe(ROOM_EVENTS, {"input": {"roomId": SECRET}})
        wait_memberships(embedded_web, staff, 5)  # bob's own group, and four subscriptions to the room
        posted(api, b, "second", SECRET)
        got = {}
        for _ in range(4):
            message = member.recv()
            assert message["type"] == "next", message
            payload = message["payload"]["data"]
            got[message["id"]] = (payload.get("postCreated") or payload["roomEvents"]["post"])["body"]
        assert got == {replay_posts: "second", replay_events: "second", live_posts: "second", live_events: "second"}

        # Removed from the room: new subscriptions are refused (the open ones run on until
        # they end; a reconnect subscribes again and is refused).
        RoomMember.objects.filter(room_id=SECRET, user=bob).delete()
        gone = subscription_refusal(member, POST_CREATED, SECRET, 0)
        assert [e["extensions"]["code"] for e in gone["payload"]] == ["NOT_FOUND"], gone


# --- the admin ---


def test_a_moderator_adds_a_member_in_the_admin(client, db):
    from accounts.moderators import make_moderator

    moderator, _ = user_with_token("priv")
    make_moderator(moderator)
    carol, _ = user_with_token("priv")
    create_room(room_id="desk", name="Desk", is_private=True)  # made in the admin: no members yet
    client.force_login(moderator)
    page = client.get("/admin/rooms/room/desk/change/")
    assert page.status_code == 200 and "members-TOTAL_FORMS" in page.content.decode()
    saved = client.post(
        "/admin/rooms/room/desk/change/",
        {
            "name": "Desk",
            "is_private": "on",
            "members-TOTAL_FORMS": "1",
            "members-INITIAL_FORMS": "0",
            "members-MIN_NUM_FORMS": "0",
            "members-MAX_NUM_FORMS": "1000",
            "members-0-user": str(carol.pk),
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    member = RoomMember.objects.get(room_id="desk")
    assert (member.user, member.added_by) == (carol, moderator)
    # A public room has no member list to show.
    assert "members-TOTAL_FORMS" not in client.get("/admin/rooms/room/general/change/").content.decode()

"""Replies, threads and reactions (issue 18, items 1 and 2): the rules through the API, the
thread read in order and paged, and every reader, live and resuming with `after`, seeing
replies, reactions and deletions in the room's one order, with the same counts."""
import pytest
from django.db import IntegrityError, transaction

from posts.models import Post, PostChange, PostRequest, Reaction
from posts.reactions import REACTION_EMOJI, REACTION_NAMES_MAX, react
from rooms.models import RoomMember
from tests.clients import OverHttp, Socket, data, error_code
from tests.helpers import (
    create_post, make_room, on_the_full_stack, post_now, posted, public_post_id, stored_post, user_with_token,
)
from tests.test_query_counts import published  # noqa: F401 (the fixture: stages published, not run inline)

POST = (
    "id seq author body deleted createdAt replyTo { id author excerpt deleted } "
    "thread { id replyCount lastReplyAt } reactions { emoji count users }"
)
HISTORY = f"query($input: PostsInput!) {{ posts(input: $input) {{ {POST} }} }}"
THREAD = f"query($input: ThreadInput!) {{ thread(input: $input) {{ {POST} }} }}"
REPLY = "mutation($input: CreatePostInput!) { createPost(input: $input) { success requestId } }"
ADD = f"mutation($input: ReactionInput!) {{ addReaction(input: $input) {{ {POST} }} }}"
REMOVE = f"mutation($input: ReactionInput!) {{ removeReaction(input: $input) {{ {POST} }} }}"
DELETE = "mutation($input: DeletePostInput!) { deletePost(input: $input) { success } }"
ROOM_EVENTS = (
    "subscription($input: RoomEventsInput!) { roomEvents(input: $input) "
    f"{{ seq kind reaction {{ emoji added userId }} post {{ {POST} }} }} }}"
)


def reply(gql, token, parent, body, room="general"):
    """createPost replying to `parent` (a Post row or a public id): the whole answer."""
    parent_id = public_post_id(parent.pk) if isinstance(parent, Post) else parent
    return gql(REPLY, {"input": {"roomId": room, "body": body, "replyTo": parent_id}}, token=token)


def reply_now(gql, token, parent, body, room="general"):
    return stored_post(data(reply(gql, token, parent, body, room), "createPost")["requestId"])


def reaction(gql, token, post, emoji, on=True):
    post_id = public_post_id(post.pk) if isinstance(post, Post) else post
    return gql(ADD if on else REMOVE, {"input": {"postId": post_id, "emoji": emoji}}, token=token)


def thread(gql, token, post, **cursor):
    post_id = public_post_id(post.pk) if isinstance(post, Post) else post
    return data(gql(THREAD, {"input": {"postId": post_id, **cursor}}, token=token), "thread")


def shown(gql, token, room="general"):
    """The room's history, by body."""
    return {p["body"]: p for p in data(gql(HISTORY, {"input": {"roomId": room}}, token=token), "posts")}


# --- replies and threads ---


def test_a_reply_shows_its_parents_author_and_first_line_and_the_root_counts_its_replies(gql):
    ann, ann_token = user_with_token("threads")
    _, bob = user_with_token("threads")
    root = post_now(gql, ann_token, "Lunch plans?\nI was thinking of the noodle place.")
    first = reply_now(gql, bob, root, "noodles, yes")
    second = reply_now(gql, ann_token, first, "see you at one")  # a reply to a reply: the same thread
    assert (first.reply_to_id, first.thread_id) == (root.pk, root.pk)
    assert (second.reply_to_id, second.thread_id) == (first.pk, root.pk), "threads are flat"

    posts = shown(gql, bob)
    root_id = public_post_id(root.pk)
    assert posts["noodles, yes"]["replyTo"] == {
        "id": root_id, "author": ann.username, "excerpt": "Lunch plans?", "deleted": False
    }
    assert posts["see you at one"]["replyTo"]["excerpt"] == "noodles, yes"
    summary = posts["Lunch plans?\nI was thinking of the noodle place."]["thread"]
    assert summary["id"] == root_id and summary["replyCount"] == 2
    assert summary["lastReplyAt"] == posts["see you at one"]["createdAt"]
    assert posts["see you at one"]["thread"] == summary, "a reply carries its thread's counts"
    assert posts["Lunch plans?\nI was thinking of the noodle place."]["replyTo"] is None

    lone = post_now(gql, bob, "unrelated")
    assert shown(gql, bob)["unrelated"]["thread"] is None, "no replies, no thread"
    assert lone.thread_id is None


def test_a_thread_is_read_in_order_and_paged_from_any_of_its_posts(gql, settings):
    _, ann = user_with_token("threads")
    root = post_now(gql, ann, "root")
    replies = [reply_now(gql, ann, root, f"reply {n}") for n in range(5)]
    post_now(gql, ann, "elsewhere in the room")
    everything = [p["body"] for p in thread(gql, ann, root)]
    assert everything == ["root"] + [f"reply {n}" for n in range(5)]
    assert [p["body"] for p in thread(gql, ann, replies[2])] == everything, "any post names its thread"
    newest = thread(gql, ann, root, limit=2)
    assert [p["body"] for p in newest] == ["reply 3", "reply 4"]
    older = thread(gql, ann, root, before=newest[0]["seq"], limit=3)
    assert [p["body"] for p in older] == ["reply 0", "reply 1", "reply 2"]
    caught_up = thread(gql, ann, root, after=root.seq, limit=2)
    assert [p["body"] for p in caught_up] == ["reply 0", "reply 1"]
    for bad in ({"limit": 0}, {"limit": 51}, {"before": 3, "after": 1}, {"after": -1}):
        result = gql(THREAD, {"input": {"postId": public_post_id(root.pk), **bad}}, token=ann)
        assert error_code(result) == "BAD_USER_INPUT", bad
    assert error_code(gql(THREAD, {"input": {"postId": "nope"}}, token=ann)) == "NOT_FOUND"
    assert error_code(gql(THREAD, {"input": {"postId": public_post_id(root.pk)}})) == "UNAUTHENTICATED"


def test_what_cant_be_replied_to_stores_nothing(gql):
    _, ann = user_with_token("threads")
    elsewhere = make_room(prefix="threads")
    other_rooms = post_now(gql, ann, "in another room", room=elsewhere.pk)
    doomed = post_now(gql, ann, "to be deleted")
    assert "errors" not in gql(DELETE, {"input": {"postId": public_post_id(doomed.pk)}}, token=ann)
    here = post_now(gql, ann, "here")
    requests = PostRequest.objects.count()
    assert error_code(reply(gql, ann, other_rooms, "across rooms")) == "NOT_FOUND"
    assert error_code(reply(gql, ann, doomed, "to a deleted post")) == "NOT_FOUND"
    assert error_code(reply(gql, ann, "zzzzzzzzzzzzz", "to nothing")) == "NOT_FOUND"
    assert error_code(reply(gql, ann, "x" * 40, "to garbage")) == "NOT_FOUND"
    assert error_code(reply(gql, ann, here, "/stock=aapl.us")) == "BAD_USER_INPUT"
    assert error_code(reply(gql, ann, here, "   ")) == "BAD_USER_INPUT"
    assert error_code(reply(gql, None, here, "anonymous")) == "UNAUTHENTICATED"
    assert PostRequest.objects.count() == requests


def test_a_private_rooms_thread_is_no_thread_to_others(gql):
    owner, owner_token = user_with_token("threads")
    _, outsider = user_with_token("threads")
    secret = make_room(prefix="threads", is_private=True)
    RoomMember.objects.create(room=secret, user=owner)
    root = post_now(gql, owner_token, "members only", room=secret.pk)
    assert [p["body"] for p in thread(gql, owner_token, root)] == ["members only"]
    assert error_code(gql(THREAD, {"input": {"postId": public_post_id(root.pk)}}, token=outsider)) == "NOT_FOUND"
    assert error_code(reply(gql, outsider, root, "let me in", room=secret.pk)) == "NOT_FOUND"
    assert error_code(reply(gql, outsider, root, "from outside", room="general")) == "NOT_FOUND"
    assert error_code(reaction(gql, outsider, root, "👍")) == "NOT_FOUND"


def test_a_reply_to_a_deleted_post_shows_it_was_deleted_and_deleted_replies_leave_the_count(gql):
    _, ann = user_with_token("threads")
    _, bob = user_with_token("threads")
    root = post_now(gql, ann, "a question")
    early = reply_now(gql, bob, root, "early answer")
    late = reply_now(gql, bob, root, "late answer")
    assert shown(gql, ann)["a question"]["thread"]["replyCount"] == 2

    assert "errors" not in gql(DELETE, {"input": {"postId": public_post_id(late.pk)}}, token=bob)
    summary = shown(gql, ann)["a question"]["thread"]
    assert summary["replyCount"] == 1
    assert summary["lastReplyAt"] == shown(gql, ann)["early answer"]["createdAt"], "the newest reply left"

    assert "errors" not in gql(DELETE, {"input": {"postId": public_post_id(root.pk)}}, token=ann)
    answer = shown(gql, bob)["early answer"]
    assert answer["replyTo"] == {"id": public_post_id(root.pk), "author": root.author, "excerpt": "", "deleted": True}
    assert "a question" not in str(answer)
    in_thread = thread(gql, bob, early)
    assert [(p["body"], p["deleted"]) for p in in_thread] == [("", True), ("early answer", False)]


# --- reactions ---


def test_reactions_count_each_person_once_per_emoji_and_name_who_reacted(gql):
    ann, ann_token = user_with_token("react")
    bob, bob_token = user_with_token("react")
    post = post_now(gql, ann_token, "react to me")
    after_ann = data(reaction(gql, ann_token, post, "👍"), "addReaction")
    assert after_ann["reactions"] == [{"emoji": "👍", "count": 1, "users": [ann.username]}]
    again = data(reaction(gql, ann_token, post, "👍"), "addReaction")
    assert again["reactions"] == after_ann["reactions"], "one person counts once per emoji"
    data(reaction(gql, bob_token, post, "👍"), "addReaction")
    data(reaction(gql, bob_token, post, "🎉"), "addReaction")
    counts = shown(gql, ann_token)["react to me"]["reactions"]
    assert counts == [
        {"emoji": "👍", "count": 2, "users": [ann.username, bob.username]},
        {"emoji": "🎉", "count": 1, "users": [bob.username]},
    ]
    assert data(reaction(gql, ann_token, post, "👍", on=False), "removeReaction")["reactions"][0] == {
        "emoji": "👍", "count": 1, "users": [bob.username]
    }
    nothing = data(reaction(gql, ann_token, post, "🎉", on=False), "removeReaction")
    assert [r["count"] for r in nothing["reactions"]] == [1, 1], "removing what isn't there changes nothing"
    assert PostChange.objects.filter(post=post, kind="reacted").count() == 4, "one room event per change"
    with pytest.raises(IntegrityError), transaction.atomic():
        Reaction.objects.create(post=post, user=bob, emoji="🎉")
    assert data(gql("{ reactionEmoji }"), "reactionEmoji") == list(REACTION_EMOJI)


def test_what_cant_be_reacted_to(gql, general):
    _, ann = user_with_token("react")
    post = post_now(gql, ann, "hello")
    for emoji in ("🦄", "👍👍", "", "x", "👍 "):
        assert error_code(reaction(gql, ann, post, emoji)) == "BAD_USER_INPUT", emoji
    assert error_code(reaction(gql, ann, "nope", "👍")) == "NOT_FOUND"
    assert error_code(reaction(gql, None, post, "👍")) == "UNAUTHENTICATED"
    assert "errors" not in gql(DELETE, {"input": {"postId": public_post_id(post.pk)}}, token=ann)
    assert error_code(reaction(gql, ann, post, "👍")) == "NOT_FOUND"
    kept = post_now(gql, ann, "in a room about to lock")
    general.locked = True
    general.save(update_fields=["locked"])
    assert error_code(reaction(gql, ann, kept, "👍")) == "FORBIDDEN"
    assert not Reaction.objects.exists()


def test_reactions_are_rate_limited_apart_from_edits(gql, settings):
    settings.RATE_LIMIT_POSTS = 3
    _, ann = user_with_token("react")
    post = post_now(gql, ann, "busy")
    for emoji in REACTION_EMOJI[:3]:
        assert "errors" not in reaction(gql, ann, post, emoji)
    assert error_code(reaction(gql, ann, post, REACTION_EMOJI[3])) == "RATE_LIMITED"
    assert error_code(reaction(gql, ann, post, REACTION_EMOJI[0], on=False)) == "RATE_LIMITED"
    edit = "mutation($input: EditPostInput!) { editPost(input: $input) { body } }"
    assert "errors" not in gql(edit, {"input": {"postId": public_post_id(post.pk), "body": "still editable"}}, token=ann)


def test_the_names_kept_with_the_counts_are_the_first_to_react_and_refill(general):
    people = [user_with_token("many")[0] for _ in range(REACTION_NAMES_MAX + 2)]
    post = post_now_direct(general, people[0])
    for person in people:
        payload = react(user=person, post_id=public_post_id(post.pk), emoji="🚀", on=True)
    [rocket] = payload["reactions"]
    assert rocket["count"] == len(people) and rocket["users"] == [p.username for p in people[:REACTION_NAMES_MAX]]
    [rocket] = react(user=people[1], post_id=public_post_id(post.pk), emoji="🚀", on=False)["reactions"]
    assert rocket["count"] == len(people) - 1
    assert rocket["users"] == [p.username for p in people[:1] + people[2 : REACTION_NAMES_MAX + 1]]


def post_now_direct(room, user):
    from tests.helpers import add_post

    post = add_post(room, "counted", author=user.username)
    Post.objects.filter(pk=post.pk).update(user=user)
    return post


# --- the queries a reply adds (plain posts' counts are tests/test_query_counts.py's) ---


def test_a_reply_costs_createpost_one_query_and_its_acceptance_two(gql, published, django_assert_num_queries):  # noqa: F811
    """createPost: 8, a plain post's 7 and the post replied to (its room, its thread).
    new.post.accepted: 10, a plain post's 8, the thread root's count moved and one read
    of the rows the reply's payload shows (the post answered, the root)."""
    from posts import posting

    ann, token = user_with_token("counted")
    root = post_now_direct("general", ann)
    with django_assert_num_queries(8):
        request_id = data(reply(gql, token, root, "counted reply"), "createPost")["requestId"]
    with django_assert_num_queries(10):
        posting.new_post_accepted(request_id=request_id, room_id="general", user_id=ann.pk, body="counted reply")
    assert Post.objects.get(pk=root.pk).reply_count == 1


# --- live and on resume, through a real server ---


def apply(state, event):
    """A reader's view of the room: post id -> post, from room events applied in order."""
    post = event["post"]
    if event["kind"] == "DELETED":
        state.pop(post["id"], None)
    else:
        state[post["id"]] = post
    thread = post["thread"]
    if thread:  # the thread's counts, on its root and its replies alike
        for post_id, shown in state.items():
            if post_id == thread["id"] or (shown["thread"] or {}).get("id") == thread["id"]:
                state[post_id] = {**shown, "thread": thread}
    return state


@pytest.mark.django_db(transaction=True)
def test_readers_live_and_resuming_after_a_reply_a_reaction_and_a_deletion_agree(embedded_web, general):
    _, ann = user_with_token("threads")
    bob_user, bob = user_with_token("threads")
    api = OverHttp(embedded_web.url)
    with Socket(embedded_web.ws_url).init(bob) as reader:
        live = reader.subscribe(ROOM_EVENTS, {"input": {"roomId": "general", "after": 0}})
        posted(api, ann, "root of it all")
        root = reader.events(live, 1)[0]
        root_id = root["post"]["id"]
        posted(api, ann, "soon gone")
        doomed = reader.events(live, 1)[0]
        assert "errors" not in reply(api, bob, root_id, "a reply\nwith two lines")
        created = reader.events(live, 1)[0]
        assert created["kind"] == "CREATED" and created["post"]["replyTo"]["excerpt"] == "root of it all"
        assert created["post"]["thread"]["id"] == root_id and created["post"]["thread"]["replyCount"] == 1
        assert "errors" not in reaction(api, bob, root_id, "🎉")
        assert "errors" not in reaction(api, ann, created["post"]["id"], "👍")
        assert "errors" not in api(DELETE, {"input": {"postId": doomed["post"]["id"]}}, token=ann)
        assert "errors" not in reply(api, ann, created["post"]["id"], "a reply to the reply")
        rest = reader.events(live, 4)
        assert [e["kind"] for e in rest] == ["REACTED", "REACTED", "DELETED", "CREATED"]
        assert rest[0]["reaction"] == {"emoji": "🎉", "added": True, "userId": str(bob_user.pk)}
        assert rest[0]["post"]["reactions"] == [{"emoji": "🎉", "count": 1, "users": [bob_user.username]}]
        assert rest[3]["post"]["thread"]["replyCount"] == 2 and rest[3]["post"]["replyTo"]["excerpt"] == "a reply"
        everything = [root, doomed, created] + rest
        seqs = [e["seq"] for e in everything]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
        live_view = {}
        for event in everything:
            apply(live_view, event)

    history = {p["id"]: p for p in data(api(HISTORY, {"input": {"roomId": "general"}}, token=bob), "posts")}
    assert live_view == history, "the live reader's counts are the room's"
    # A reader that left at each position resumes `after` it, across the replies, the
    # reactions and the deletion it missed, and ends with the same room.
    for resume_from in (0, root["seq"], doomed["seq"], created["seq"], rest[1]["seq"]):
        view = {}
        for event in everything:
            if event["seq"] <= resume_from:
                apply(view, event)
        with Socket(embedded_web.ws_url).init(bob) as late:
            resumed = late.subscribe(ROOM_EVENTS, {"input": {"roomId": "general", "after": resume_from}})
            missed = []
            while not missed or missed[-1]["seq"] < seqs[-1]:
                missed += late.events(resumed, 1)
        assert all(e["seq"] > resume_from for e in missed)
        assert "soon gone" not in str(missed), "a deleted post's replay is its deletion only"
        for event in missed:
            apply(view, event)
        assert view == history, resume_from


@on_the_full_stack
def test_a_reply_and_a_reaction_on_one_web_process_reach_a_reader_on_another(full_stack, general):
    _, ann = user_with_token("threads")
    _, bob = user_with_token("threads")
    web1 = OverHttp(full_stack.web1.url)
    root = stored_post(posted(web1, ann, "thread root"))
    with Socket(full_stack.web2.ws_url).init(bob) as reader:
        live = reader.subscribe(ROOM_EVENTS, {"input": {"roomId": "general", "after": root.seq}})
        assert "errors" not in reply(web1, bob, root, "answer from web1")
        assert "errors" not in reaction(web1, ann, root, "✅")
        created, reacted = reader.events(live, 2, timeout=20)
    assert created["kind"] == "CREATED" and created["post"]["replyTo"]["id"] == public_post_id(root.pk)
    assert created["post"]["thread"]["replyCount"] == 1
    assert reacted["kind"] == "REACTED" and reacted["post"]["reactions"][0]["emoji"] == "✅"
    assert reacted["post"]["thread"]["replyCount"] == 1, "the root's own count, stored by the worker"
    assert [p["body"] for p in thread(web1, bob, root)] == ["thread root", "answer from web1"]


# --- the admin ---


def test_moderators_see_threads_and_reactions_in_the_admin_and_change_none_there(gql, admin_client):
    ann, ann_token = user_with_token("admin")
    root = post_now(gql, ann_token, "moderated root")
    reply_now(gql, ann_token, root, "moderated reply")
    data(reaction(gql, ann_token, root, "👀"), "addReaction")
    page = admin_client.get(f"/admin/posts/post/{root.pk}/change/").content.decode()
    assert "Reply count" in page and "👀" in page
    listed = admin_client.get("/admin/posts/post/").content.decode()
    assert f"in thread of {root.pk}" in listed
    audit = admin_client.get("/admin/posts/postchange/?kind=reacted").content.decode()
    assert "👀" in audit and ann.username in audit
    reactions = admin_client.get("/admin/posts/reaction/").content.decode()
    assert "👀" in reactions and ann.username in reactions
    reaction_row = Reaction.objects.get()
    assert admin_client.post(f"/admin/posts/reaction/{reaction_row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Reaction.objects.count() == 1
    # A moderator's deletion of a reply, there, leaves the thread's count as the API's does.
    admin_client.post(f"/admin/posts/post/{Post.objects.get(body='moderated reply').pk}/delete/", {"post": "yes"})
    assert Post.objects.get(pk=root.pk).reply_count == 0

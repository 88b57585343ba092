"""GraphQL for posts: the Post type, posts, createPost, editPost, deletePost and the
subscriptions (postCreated, roomEvents, postError)."""
from contextlib import aclosing

import graphene
from django.utils.dateparse import parse_datetime

from chatsite.db import on_db_thread
from chatsite.graphql import caller
from posts import changes, posting, presence, read_state, selectors, typing
from posts.events import PAYLOAD_KEY, presence_group, typing_group, user_group
from posts.stages import Event
from posts.stream import room_events, room_posts
from rooms.selectors import room_for


class Post(graphene.ObjectType):
    """Resolved from the post's payload dict (`Post.as_payload`), the same for every path."""

    id = graphene.ID(required=True)
    room_id = graphene.ID(required=True)
    seq = graphene.Int(
        required=True,
        description="The post's position in its room: increasing, the same for every reader; gaps allowed.",
    )
    user_id = graphene.ID()
    author = graphene.String(required=True)
    body = graphene.String(required=True)
    is_bot = graphene.Boolean(required=True)
    created_at = graphene.DateTime(required=True)
    edited_at = graphene.DateTime(description="When the author last edited it; null if never (shown as \"(edited)\").")
    deleted = graphene.Boolean(
        required=True, description="Deleted by its author or a moderator: the body is empty (only in roomEvents)."
    )

    def resolve_created_at(root, info):
        return parse_datetime(root["created_at"])

    def resolve_edited_at(root, info):
        return parse_datetime(root["edited_at"]) if root.get("edited_at") else None

    def resolve_deleted(root, info):
        return bool(root.get("deleted"))


class RoomEventKind(graphene.Enum):
    CREATED = "created"
    EDITED = "edited"
    DELETED = "deleted"


class RoomEvent(graphene.ObjectType):
    """Something that happened in a room, at its own position in the room's order."""

    seq = graphene.Int(
        required=True,
        description="The event's position in the room: a created post's is its seq; edits and deletions take their own.",
    )
    kind = graphene.Field(RoomEventKind, required=True)
    post = graphene.Field(Post, required=True, description="The post as it is now (a deleted one has no body).")

    def resolve_kind(root, info):
        return root["kind"]


class ReadState(graphene.ObjectType):
    """How far the caller has read a room, and what is new there for them."""

    room_id = graphene.ID(required=True)
    last_read_seq = graphene.Int(required=True, description="The newest position the caller has seen (markRead).")
    unread_count = graphene.Int(
        required=True,
        description="Posts by others after it (deleted ones don't count), at most 100: 100 means 100 or more.",
    )
    mention_count = graphene.Int(
        required=True, description="Those of them that mention @the caller, at most 100: 100 means 100 or more."
    )
    position = graphene.Int(
        required=True,
        description=(
            "The room's newest position when these were counted: a client adds the posts it "
            "sees live (roomEvents) with a greater seq, so none is counted twice or missed."
        ),
    )


class Typing(graphene.ObjectType):
    """Someone is typing in the room: show it for `expiresInSeconds` unless it comes again."""

    room_id = graphene.ID(required=True)
    user_id = graphene.ID(required=True)
    username = graphene.String(required=True)
    expires_in_seconds = graphene.Int(required=True)


class PresentUser(graphene.ObjectType):
    user_id = graphene.ID(required=True)
    username = graphene.String(required=True)


class Presence(graphene.ObjectType):
    """Who has the room open now (a roomEvents subscription, as the room page keeps)."""

    room_id = graphene.ID(required=True)
    version = graphene.Int(required=True, description="Increases with every change: keep the highest one seen.")
    count = graphene.Int(required=True)
    users = graphene.List(graphene.NonNull(PresentUser), required=True, description="By name, at most 50.")


class RoomInput(graphene.InputObjectType):
    room_id = graphene.ID(required=True)


class SendTypingResponse(graphene.ObjectType):
    sent = graphene.Boolean(
        required=True, description="False when one was sent less than TYPING_INTERVAL_SECONDS (3) ago: not an error."
    )


class MarkReadInput(graphene.InputObjectType):
    room_id = graphene.ID(required=True)
    seq = graphene.Int(required=True, description="The newest position the reader has seen (a post's or an event's seq).")


class PostError(graphene.ObjectType):
    request_id = graphene.ID(required=True)
    room_id = graphene.ID(required=True)
    user_id = graphene.ID(required=True)
    body = graphene.String(required=True)
    reason = graphene.String(required=True)


class CreatePostResponse(graphene.ObjectType):
    success = graphene.Boolean(required=True)
    request_id = graphene.ID(required=True)


class PostsInput(graphene.InputObjectType):
    """Ordered by seq, oldest first. No cursor: the newest `limit` posts."""

    room_id = graphene.ID(required=True)
    before = graphene.Int(description="The newest `limit` posts with a smaller seq (paging back).")
    after = graphene.Int(description="The oldest `limit` posts with a greater seq (catching up).")
    limit = graphene.Int(default_value=selectors.HISTORY_MAX, description="1 to 50.")


class CreatePostInput(graphene.InputObjectType):
    room_id = graphene.ID(required=True)
    body = graphene.String(required=True)
    client_id = graphene.String()


class EditPostInput(graphene.InputObjectType):
    post_id = graphene.ID(required=True)
    body = graphene.String(required=True)


class DeletePostInput(graphene.InputObjectType):
    post_id = graphene.ID(required=True)


class DeletePostResponse(graphene.ObjectType):
    success = graphene.Boolean(required=True)


class RoomEventsInput(graphene.InputObjectType):
    room_id = graphene.ID(required=True)
    after = graphene.Int(
        description=(
            "Resume: every event of the room with a greater seq, once and in order, then the live "
            "ones (as for postCreated). Without it: live events only."
        )
    )


class PostCreatedInput(graphene.InputObjectType):
    room_id = graphene.ID(required=True)
    after = graphene.Int(
        description=(
            "Resume: every post of the room with a greater seq, once and in order, then the live "
            "ones. Read the history, then subscribe with `after` = the newest seq read, and no post "
            "can slip between the two. More than STREAM_RESUME_MAX (1,000) missed: the error "
            "TOO_FAR_BEHIND, and the client reloads the history. Without it: live posts only."
        )
    )


class Query(graphene.ObjectType):
    posts = graphene.List(graphene.NonNull(Post), required=True, input=PostsInput(required=True))

    def resolve_posts(root, info, input):
        return selectors.room_history(
            user=caller(info),
            room_id=input.room_id, before=input.before, after=input.after, limit=input.limit
        )


class CreatePost(graphene.Mutation):
    class Arguments:
        input = CreatePostInput(required=True)

    Output = CreatePostResponse

    def mutate(root, info, input):
        request_id = posting.request_post(
            user=caller(info),
            room_id=input.room_id,
            body=input.body,
            client_id=input.client_id,
        )
        return CreatePostResponse(success=True, request_id=request_id)


class EditPost(graphene.Mutation):
    """Change your own post's text, within POST_EDIT_WINDOW_SECONDS (15 minutes) of sending it.
    Every reader gets it as an EDITED room event."""

    class Arguments:
        input = EditPostInput(required=True)

    Output = Post

    def mutate(root, info, input):
        return changes.edit_post(user=caller(info), post_id=input.post_id, body=input.body)


class DeletePost(graphene.Mutation):
    """Delete your own post (a moderator: any post). Every reader gets a DELETED room event."""

    class Arguments:
        input = DeletePostInput(required=True)

    Output = DeletePostResponse

    def mutate(root, info, input):
        changes.delete_post(user=caller(info), post_id=input.post_id)
        return DeletePostResponse(success=True)


class MarkRead(graphene.Mutation):
    """The caller has read the room up to `seq` (it never moves back). The caller's other
    sessions get the new state through readStateChanged. At most 30 calls per user in any
    10 seconds (MARK_READ_RATE_LIMIT), aliases included: past it, RATE_LIMITED."""

    class Arguments:
        input = MarkReadInput(required=True)

    Output = ReadState

    def mutate(root, info, input):
        return read_state.mark_read(user=caller(info), room_id=input.room_id, seq=input.seq)


class SendTyping(graphene.Mutation):
    """Tell the room's readers you are typing (call it as keys are pressed; the server sends
    at most one every 3 seconds). Never stored."""

    class Arguments:
        input = RoomInput(required=True)

    Output = SendTypingResponse

    def mutate(root, info, input):
        return SendTypingResponse(sent=typing.typing(user=caller(info), room_id=input.room_id))


class Mutation(graphene.ObjectType):
    create_post = CreatePost.Field()
    send_typing = SendTyping.Field()
    mark_read = MarkRead.Field()
    edit_post = EditPost.Field()
    delete_post = DeletePost.Field()


async def only(event, messages):
    """The messages of one kind from a group that carries several (a user's group)."""
    async with aclosing(messages) as stream:
        async for key, message in stream:
            if message.get("type") == event:
                yield key, message


async def presence_stream(room_id, messages):
    """The list now, then each newer one: listening first, so no change slips between."""
    async with aclosing(only(Event.PRESENCE, messages)) as changes:
        now = await on_db_thread(presence.current, room_id)
        yield ("presence", room_id, now["version"]), now
        version = now["version"]
        async for key, message in changes:
            snapshot = message[PAYLOAD_KEY[Event.PRESENCE]]
            if snapshot["version"] > version:
                version = snapshot["version"]
                yield key, snapshot


async def others_typing(user, messages):
    async with aclosing(only(Event.TYPING, messages)) as typing:
        async for key, message in typing:
            if message[PAYLOAD_KEY[Event.TYPING]].get("user_id") != str(user.pk):
                yield key, message


class Subscription(graphene.ObjectType):
    """Event streams come from the WebSocket connection (`info.context.listen`)."""

    post_created = graphene.Field(
        Post,
        required=True,
        input=PostCreatedInput(required=True),
        description=(
            "Posts created in the room, in seq order. Example: "
            "subscription { postCreated(input: {roomId: \"general\", after: 41}) { seq author body } }"
        ),
    )
    room_events = graphene.Field(
        RoomEvent,
        required=True,
        input=RoomEventsInput(required=True),
        description=(
            "Every change in the room (posts created, edited, deleted), in one order. Example: "
            "subscription { roomEvents(input: {roomId: \"general\", after: 41}) { seq kind post { id body editedAt } } }"
        ),
    )
    post_error = graphene.Field(PostError, required=True, description="The caller's own failed requests.")
    presence_changed = graphene.Field(
        Presence,
        required=True,
        input=RoomInput(required=True),
        description=(
            "Who has the room open: the list now, then the whole list again after each change. "
            "Someone who leaves stays listed for a few seconds (a reload changes nothing)."
        ),
    )
    typing = graphene.Field(
        Typing,
        required=True,
        input=RoomInput(required=True),
        description="Who else is typing in the room, as it happens (never replayed).",
    )
    read_state_changed = graphene.Field(
        ReadState, required=True, description="The caller read a room further, in any of their sessions."
    )

    async def subscribe_post_created(root, info, input):
        # Membership is checked when subscribing: a member removed later keeps this
        # subscription until it ends (a reconnect subscribes again, and is refused).
        await on_db_thread(room_for, caller(info), input.room_id)
        return room_posts(input.room_id, after=selectors.position(input.after, "after"), backlog=info.context.backlog)

    def resolve_post_created(root, info, input):
        return root

    async def subscribe_room_events(root, info, input):
        # Membership is checked when subscribing: a member removed later keeps this
        # subscription until it ends (a reconnect subscribes again, and is refused).
        user = caller(info)
        await on_db_thread(room_for, user, input.room_id)
        events = room_events(input.room_id, after=selectors.position(input.after, "after"), backlog=info.context.backlog)
        return presence.while_present(input.room_id, user.pk, events)  # the reader is in the room meanwhile

    def resolve_room_events(root, info, input):
        return root

    async def subscribe_post_error(root, info):
        user = caller(info)
        return only(Event.POST_ERROR, info.context.listen(user_group(user.pk)))

    def resolve_post_error(root, info):
        return root[PAYLOAD_KEY[Event.POST_ERROR]]

    async def subscribe_presence_changed(root, info, input):
        user = caller(info)
        await on_db_thread(room_for, user, input.room_id)
        return presence_stream(input.room_id, info.context.listen(presence_group(input.room_id)))

    def resolve_presence_changed(root, info, input):
        return root

    async def subscribe_typing(root, info, input):
        user = caller(info)
        await on_db_thread(room_for, user, input.room_id)
        return others_typing(user, info.context.listen(typing_group(input.room_id)))

    def resolve_typing(root, info, input):
        return root[PAYLOAD_KEY[Event.TYPING]]

    async def subscribe_read_state_changed(root, info):
        user = caller(info)
        return only(Event.READ_STATE, info.context.listen(user_group(user.pk)))

    def resolve_read_state_changed(root, info):
        return root[PAYLOAD_KEY[Event.READ_STATE]]

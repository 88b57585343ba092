"""GraphQL for posts: the Post type, posts, createPost, editPost, deletePost and the
subscriptions (postCreated, roomEvents, postError)."""
import graphene
from django.utils.dateparse import parse_datetime

from chatsite.db import on_db_thread
from chatsite.graphql import caller
from posts import selectors, services
from posts.events import PAYLOAD_KEY, user_group
from posts.stages import Event
from posts.stream import room_events, room_posts
from rooms.selectors import find_room


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
        caller(info)
        return selectors.room_history(
            room_id=input.room_id, before=input.before, after=input.after, limit=input.limit
        )


class CreatePost(graphene.Mutation):
    class Arguments:
        input = CreatePostInput(required=True)

    Output = CreatePostResponse

    def mutate(root, info, input):
        request_id = services.request_post(
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
        return services.edit_post(user=caller(info), post_id=input.post_id, body=input.body)


class DeletePost(graphene.Mutation):
    """Delete your own post (a moderator: any post). Every reader gets a DELETED room event."""

    class Arguments:
        input = DeletePostInput(required=True)

    Output = DeletePostResponse

    def mutate(root, info, input):
        services.delete_post(user=caller(info), post_id=input.post_id)
        return DeletePostResponse(success=True)


class Mutation(graphene.ObjectType):
    create_post = CreatePost.Field()
    edit_post = EditPost.Field()
    delete_post = DeletePost.Field()


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

    async def subscribe_post_created(root, info, input):
        caller(info)
        await on_db_thread(find_room, input.room_id)
        return room_posts(input.room_id, after=selectors.position(input.after, "after"))

    def resolve_post_created(root, info, input):
        return root

    async def subscribe_room_events(root, info, input):
        caller(info)
        await on_db_thread(find_room, input.room_id)
        return room_events(input.room_id, after=selectors.position(input.after, "after"))

    def resolve_room_events(root, info, input):
        return root

    async def subscribe_post_error(root, info):
        user = caller(info)
        return info.context.listen(user_group(user.pk))

    def resolve_post_error(root, info):
        return root[PAYLOAD_KEY[Event.POST_ERROR]]

"""GraphQL for posts: the Post type, posts, createPost and the two subscriptions."""
import graphene
from django.utils.dateparse import parse_datetime

from chatsite.db import on_db_thread
from chatsite.graphql import caller
from posts import selectors, services
from posts.events import PAYLOAD_KEY, user_group
from posts.stages import Event
from posts.stream import room_posts
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

    def resolve_created_at(root, info):
        return parse_datetime(root["created_at"])


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


class Mutation(graphene.ObjectType):
    create_post = CreatePost.Field()


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
    post_error = graphene.Field(PostError, required=True, description="The caller's own failed requests.")

    async def subscribe_post_created(root, info, input):
        caller(info)
        await on_db_thread(find_room, input.room_id)
        return room_posts(input.room_id, after=selectors.position(input.after, "after"))

    def resolve_post_created(root, info, input):
        return root

    async def subscribe_post_error(root, info):
        user = caller(info)
        return info.context.listen(user_group(user.pk))

    def resolve_post_error(root, info):
        return root[PAYLOAD_KEY[Event.POST_ERROR]]

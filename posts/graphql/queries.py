"""posts: a room's history; thread: one thread's posts; reactionEmoji: what a post can get."""
import graphene

from chatsite.graphql import caller
from posts import selectors, threads
from posts.graphql.types import Post, PostsInput, ThreadInput
from posts.reactions import REACTION_EMOJI


class Query(graphene.ObjectType):
    posts = graphene.List(graphene.NonNull(Post), required=True, input=PostsInput(required=True))
    thread = graphene.List(
        graphene.NonNull(Post),
        required=True,
        input=ThreadInput(required=True),
        description=(
            "One thread's posts, oldest first, paged as `posts` pages a room: its root (also when deleted: "
            "`deleted` true, no body), then its replies. Follow it live through the room's `roomEvents`: "
            "a reply's `post.thread.id` is the root's id."
        ),
    )
    reaction_emoji = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="The emoji a post can get (addReaction), in order."
    )

    def resolve_posts(root, info, input):
        return selectors.room_history(
            user=caller(info),
            room_id=input.room_id, before=input.before, after=input.after, limit=input.limit
        )

    def resolve_thread(root, info, input):
        return threads.thread_posts(
            user=caller(info), post_id=input.post_id, before=input.before, after=input.after, limit=input.limit
        )

    def resolve_reaction_emoji(root, info):
        return list(REACTION_EMOJI)

"""posts: a room's history."""
import graphene

from chatsite.graphql import caller
from posts import selectors
from posts.graphql.types import Post, PostsInput


class Query(graphene.ObjectType):
    posts = graphene.List(graphene.NonNull(Post), required=True, input=PostsInput(required=True))

    def resolve_posts(root, info, input):
        return selectors.room_history(
            user=caller(info),
            room_id=input.room_id, before=input.before, after=input.after, limit=input.limit
        )

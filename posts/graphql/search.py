"""GraphQL for searching a room's posts: searchPosts (the rules are in `posts.search`)."""
import graphene

from chatsite.graphql import caller
from posts.graphql.types import Post
from posts.search import (
    SEARCH_LIMIT_DEFAULT,
    SEARCH_LIMIT_MAX,
    SEARCH_QUERY_MAX_LENGTH,
    SEARCH_WORDS_MAX,
    search_posts,
)


class SearchPostsInput(graphene.InputObjectType):
    """What to look for, and where."""

    room_id = graphene.ID(required=True, description="The room to search (its slug).")
    query = graphene.String(
        required=True,
        description=(
            f"The words to find, every one of them (any order, any case): 1 to {SEARCH_WORDS_MAX} "
            f"words, at most {SEARCH_QUERY_MAX_LENGTH} characters. On PostgreSQL whole words, "
            "with web-search syntax (\"a phrase\", `or`, `-word`); on SQLite each word as a substring."
        ),
    )
    limit = graphene.Int(default_value=SEARCH_LIMIT_DEFAULT, description=f"1 to {SEARCH_LIMIT_MAX}.")


class Query(graphene.ObjectType):
    search_posts = graphene.List(
        graphene.NonNull(Post),
        required=True,
        input=SearchPostsInput(required=True),
        description=(
            "The room's posts that contain every word of the query, newest first (at most `limit`). "
            "One per query (a second one, by alias or fragment, is BAD_USER_INPUT). "
            "Example: { searchPosts(input: {roomId: \"general\", query: \"apple quote\"}) { seq author body createdAt } }"
        ),
    )

    def resolve_search_posts(root, info, input):
        return search_posts(user=caller(info), room_id=input.room_id, query=input.query, limit=input.limit)

"""Search a room's posts by words, newest first.

PostgreSQL: full-text search with the `simple` configuration (lower-cased words, no
stemming and no stop words, so it behaves the same in every language) and `websearch`
syntax (every word must appear; "quoted phrases", `or` and `-word` work as on a web search
engine; no syntax can make it fail). SQLite (the embedded mode): every word must appear in
the body, as a substring, in any case.

What one search may cost, whatever the room's size: a document asks for one search at
most (`chatsite/query_cost.py`); on PostgreSQL the search's statement is cut after
SEARCH_TIMEOUT_MS (BAD_USER_INPUT: the search is too broad); on SQLite, which has no
full-text index, only the room's newest SEARCH_SCAN_MAX posts are searched.

Newest first rather than by rank: chat posts are short, so ranks barely differ, and what a
reader looks for is nearly always the recent mention; it is also one order on both
databases, and the same `seq` order the room itself shows.
"""
import logging
import re
from contextlib import contextmanager

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import OperationalError, connection, transaction

from chatsite.errors import BadUserInput
from chatsite.text import clean_text, has_visible_text
from posts.models import Post
from rooms.selectors import room_for

SEARCH_QUERY_MAX_LENGTH = 200
SEARCH_WORDS_MAX = 10
SEARCH_LIMIT_MAX = 50
SEARCH_LIMIT_DEFAULT = 20
# No stemming and no stop words: a word matches itself, in any language.
SEARCH_CONFIG = "simple"
# PostgreSQL's code for a statement cancelled by statement_timeout.
QUERY_CANCELED = "57014"
TOO_BROAD = (
    "This search would take too long: look for more specific words "
    "(a word to find, not only words to leave out)."
)

log = logging.getLogger("posts.search")


def search_words(query):
    """The words of a search, or BadUserInput saying what is wrong with it."""
    query = clean_text(query, field="A search")
    if len(query) > SEARCH_QUERY_MAX_LENGTH:
        raise BadUserInput(f"A search can have at most {SEARCH_QUERY_MAX_LENGTH} characters.")
    words = [word for word in query.split() if has_visible_text(word)]
    if not words:
        raise BadUserInput("Type a word or more to search for.")
    if len(words) > SEARCH_WORDS_MAX:
        raise BadUserInput(f"A search can have at most {SEARCH_WORDS_MAX} words.")
    return words


def search_limit(limit):
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SEARCH_LIMIT_MAX:
        raise BadUserInput(f"`limit` must be between 1 and {SEARCH_LIMIT_MAX}.")
    return limit


def search_posts(*, user, room_id, query, limit=SEARCH_LIMIT_DEFAULT):
    """Payloads (`Post.as_payload`) of the posts of a room `user` can see (NotFound
    otherwise) that match every word, newest first."""
    words = search_words(query)
    limit = search_limit(limit)
    room_for(user, room_id)
    # A deleted post keeps its row (and position) with an empty body: never a result.
    posts = Post.shown().filter(room_id=room_id, deleted_at__isnull=True)
    if connection.vendor == "postgresql":
        posts = matching_full_text(posts, " ".join(words))
        try:
            with statement_timeout(settings.SEARCH_TIMEOUT_MS):
                return [post.as_payload() for post in posts.order_by("-seq")[:limit]]
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != QUERY_CANCELED:
                raise
            log.info("searchPosts room=%s user=%s cut after %s ms", room_id, user.pk, settings.SEARCH_TIMEOUT_MS)
            raise BadUserInput(TOO_BROAD) from None
    # No index can serve a substring in any case: the newest SEARCH_SCAN_MAX posts are the
    # most a search reads, walked by the (room, seq) index.
    newest = posts.order_by("-seq").values("pk")[: settings.SEARCH_SCAN_MAX]
    posts = Post.shown().filter(pk__in=newest)
    for word in words:
        # `icontains` with Unicode case folding: SQLite's LIKE folds ASCII letters only,
        # while REGEXP is Python's `re` (Django registers it), which folds every script.
        posts = posts.filter(body__iregex=re.escape(word))
    return [post.as_payload() for post in posts.order_by("-seq")[:limit]]


@contextmanager
def statement_timeout(milliseconds):
    """PostgreSQL cancels any statement run within that takes longer than `milliseconds`.
    Set for this transaction (or savepoint) only, and put back after, so a connection that
    goes back to the pool, or a caller's own transaction, keeps its own timeout."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
            [f"{int(milliseconds)}ms"],
        )
        previous = cursor.fetchone()[0]
        yield
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])


def matching_full_text(posts, text):
    # to_tsvector('simple', body): the expression a GIN index on the posts' text can serve.
    # `alias`, not `annotate`: the vector is matched, never sent back.
    return posts.alias(search=SearchVector("body", config=SEARCH_CONFIG)).filter(
        search=SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
    )


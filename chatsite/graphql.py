"""The GraphQL edge: who is calling, and errors as codes without internal detail."""
import logging

from django.contrib.auth.models import AnonymousUser
from django.middleware.csrf import CsrfViewMiddleware
from graphene_django.views import GraphQLView
from graphql import GraphQLError

from chatsite.auth import require_user, user_from_authorization
from chatsite.errors import ChatError

log = logging.getLogger("chatsite.graphql")


def caller(info):
    """The active user making this request, or the error that says why there is none."""
    context = info.context
    auth_error = getattr(context, "auth_error", None)
    if auth_error is not None:
        raise auth_error
    return require_user(getattr(context, "user", None))


def format_error(error):
    """One GraphQL error as the client sees it: a message and `extensions.code`."""
    if not isinstance(error, GraphQLError):
        error = GraphQLError(str(error), original_error=error)
    formatted = {"message": error.message}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        formatted["path"] = error.path
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if isinstance(original, ChatError):
        formatted["message"] = original.message
        code = original.code
    elif error.path is None and (original is None or isinstance(original, GraphQLError)):
        # The document or its variables are wrong: the message is about the client's input.
        code = "BAD_USER_INPUT"
    else:
        log.error("unexpected error in %s", error.path, exc_info=original)
        formatted["message"] = "Internal server error."
        code = "INTERNAL_SERVER_ERROR"
    formatted["extensions"] = {"code": code}
    return formatted


class ChatGraphQLView(GraphQLView):
    """Bearer tokens for API clients; the session (with its CSRF check) for browsers."""

    @staticmethod
    def format_error(error):
        return format_error(error)

    def dispatch(self, request, *args, **kwargs):
        header = request.META.get("HTTP_AUTHORIZATION")
        if header:
            try:
                request.user = user_from_authorization(header)
            except ChatError as exc:
                request.user = AnonymousUser()
                request.auth_error = exc
        elif request.method == "POST" and request.user.is_authenticated:
            refused = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
            if refused is not None:
                return refused
        return super().dispatch(request, *args, **kwargs)

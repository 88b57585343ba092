"""The GraphQL edge: who is calling, errors as codes without internal detail, and the two
shapes the apps declare again and again (a mutation of one `input`, a type of required scalars)."""
import inspect
import json
import logging

import graphene

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.db import OperationalError
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from graphene_django.utils.utils import set_rollback
from graphene_django.views import GraphQLView, HttpError
from graphql import ExecutionResult, GraphQLError, OperationType, execute, get_operation_ast

from chatsite.auth import require_user, user_from_authorization
from chatsite.errors import ChatError, Unavailable
from chatsite.documents import Documents
from chatsite.query_cost import HTTP_VALIDATION_RULES

log = logging.getLogger("chatsite.graphql")

INTERNAL_ERROR = {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}


_http_documents = None


def http_documents():
    """The HTTP endpoint's documents (made on first use: the schema imports this module)."""
    global _http_documents
    if _http_documents is None:
        from chatsite.schema import schema

        _http_documents = Documents(schema, HTTP_VALIDATION_RULES, max_bytes=settings.GRAPHQL_DOCUMENT_CACHE_BYTES)
    return _http_documents


def caller(info):
    """The active user making this request, or the error that says why there is none."""
    context = info.context
    auth_error = getattr(context, "auth_error", None)
    if auth_error is not None:
        raise auth_error
    return require_user(getattr(context, "user", None))


def client_address(info):
    """The caller's address, for the throttles, the same on every transport: the
    connection's peer (behind a proxy on this machine, the address it forwards: uvicorn's
    --proxy-headers). HTTP: REMOTE_ADDR; the WebSocket: the connection's ASGI `client`."""
    context = info.context
    meta = getattr(context, "META", None)
    if meta is not None:
        return meta.get("REMOTE_ADDR") or None
    return getattr(context, "client_address", None) or None


def mutation(output, input_type, run, description=None):
    """A mutation field: one required `input` of `input_type`, answered by `run(info, input)`
    as an `output` (null when it fails: the error says why). Its description is `description`,
    else `run`'s docstring (as graphene takes a class's)."""
    if description is None and run.__doc__:
        description = inspect.cleandoc(run.__doc__)
    return graphene.Field(
        output,
        input=input_type(required=True),
        resolver=lambda root, info, input: run(info, input),
        description=description,
    )


def required_scalars(name, base, **fields):
    """A graphene type (`base`: ObjectType or InputObjectType) named `name` whose fields, in
    this order, are each a required scalar (`user_id=graphene.ID`), with no description."""
    return type(name, (base,), {field: scalar(required=True) for field, scalar in fields.items()})


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
    elif isinstance(original, OperationalError):
        # The database is busy or out of reach (the pool waited too long, a restart): the
        # request stored nothing and may be retried, as with a broker that can't take it.
        log.warning("database unavailable in %s: %r", error.path, original)
        formatted["message"] = Unavailable.busy_message
        code = Unavailable.code
    elif error.path is None and (original is None or isinstance(original, GraphQLError)):
        # The document or its variables are wrong: the message is about the client's input.
        code = "BAD_USER_INPUT"
    else:
        log.error("unexpected error in %s", error.path, exc_info=original)
        formatted["message"] = "Internal server error."
        code = "INTERNAL_SERVER_ERROR"
    formatted["extensions"] = {"code": code}
    return formatted


def refusal(message):
    """A malformed HTTP request: 400, answered as a GraphQL error by the view."""
    return HttpError(HttpResponseBadRequest(), message)


def too_large(limit):
    return HttpError(HttpResponse(status=413), f"The body is over {limit} bytes.")


class ChatGraphQLView(GraphQLView):
    """Bearer tokens for API clients; the session (with its CSRF check) for browsers.

    Over HTTP it follows the GraphQL-over-HTTP rules (SPEC 5): a well-formed request answers
    200 `application/json`, its GraphQL errors included; a malformed one a 4xx with a JSON body
    of `BAD_USER_INPUT` errors; a mutation by GET 405. Never a traceback or an HTML error page.
    """


    @staticmethod
    def format_error(error):
        if isinstance(error, HttpError):
            # graphene-django's (and our) refusals of a malformed request: our own messages,
            # about the client's request.
            return {"message": error.message, "extensions": {"code": "BAD_USER_INPUT"}}
        return format_error(error)

    def dispatch(self, request, *args, **kwargs):
        """Who is calling, then graphene-django; anything unexpected answers a JSON 500
        (logged here) rather than Django's HTML error page."""
        try:
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
        except OperationalError as exc:  # the database is busy or away, before execution began
            log.warning("database unavailable answering %s %s: %r", request.method, request.path, exc)
            set_rollback()
            return JsonResponse({"errors": [{"message": Unavailable.busy_message, "extensions": {"code": Unavailable.code}}]})
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, request.path)
            set_rollback()
            return JsonResponse({"errors": [INTERNAL_ERROR]}, status=500)

    def parse_body(self, request):
        """graphene-django reads bodies of any size, answers 500 for deeply nested JSON, and
        lets through batches, a non-string `query`, `variables` that are not an object and
        bodies of any content type; those are malformed requests, refused here with a 4xx."""
        if request.method != "POST":
            return {}  # GET: the parameters are in the URL
        limit = getattr(settings, "GRAPHQL_MAX_BODY_BYTES", 256 * 1024)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise refusal("Invalid Content-Length.")
        if declared > limit:
            raise too_large(limit)
        content_type = self.get_content_type(request)
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                return request.POST
            except RequestDataTooBig:
                raise too_large(limit)
            except (SuspiciousOperation, MultiPartParserError, BadRequest, UnicodeDecodeError, LookupError):
                raise refusal("The form body could not be read (send it as UTF-8).")
        if content_type not in ("application/json", "application/graphql"):
            raise HttpError(
                HttpResponse(status=415),
                "Unsupported Content-Type: send application/json (or application/graphql).",
            )
        try:
            body = request.body
        except RequestDataTooBig:
            raise too_large(limit)
        if len(body) > limit:
            raise too_large(limit)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise refusal("The body is not valid UTF-8.")
        if content_type == "application/graphql":
            return {"query": text}
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise refusal("The body is not valid JSON.")
        if isinstance(data, list):
            raise refusal("Batched requests are not supported: send one operation per request.")
        if not isinstance(data, dict):
            raise refusal("The body must be a JSON object.")
        if not isinstance(data.get("query"), str):
            raise refusal("The body must have a `query` string.")
        if data.get("variables") is not None and not isinstance(data["variables"], dict):
            raise refusal("`variables` must be an object or null.")
        if data.get("operationName") is not None and not isinstance(data["operationName"], str):
            raise refusal("`operationName` must be a string or null.")
        return data

    @staticmethod
    def get_graphql_params(request, data):
        """graphene-django passes `variables` from the URL or a form on to execution whatever
        JSON they hold (a list is then an internal error); they must be an object."""
        query, variables, operation_name, id = GraphQLView.get_graphql_params(request, data)
        if variables is not None and not isinstance(variables, dict):
            raise refusal("`variables` must be an object or null.")
        return query, variables, operation_name, id

    def execute_graphql_request(self, request, data, query, variables, operation_name, show_graphiql=False):
        """graphene-django's, with the document parsed and validated once per distinct text
        (chatsite.documents: bounded in tokens and in the cache's bytes, the cost rule first)."""
        if not query:
            return super().execute_graphql_request(request, data, query, variables, operation_name, show_graphiql)
        document, errors = http_documents().get(query)
        if errors:
            return ExecutionResult(errors=list(errors))
        operation = get_operation_ast(document, operation_name)
        if request.method.lower() == "get" and operation is not None and operation.operation != OperationType.QUERY:
            if show_graphiql:
                return None
            raise HttpError(
                HttpResponseNotAllowed(["POST"], f"Can only perform a {operation.operation.value} operation from a POST request.")
            )
        try:
            return execute(
                self.schema.graphql_schema,
                document,
                root_value=self.get_root_value(request),
                context_value=self.get_context(request),
                variable_values=variables,
                operation_name=operation_name,
                middleware=self.get_middleware(request),
            )
        except Exception as error:
            return ExecutionResult(errors=[error])

    def get_response(self, request, data, show_graphiql=False):
        """graphene-django answers 400 when an error has no path (an invalid document or
        variables). A well-formed request answers 200 with application/json whatever its
        GraphQL errors: Apollo Client reads `errors` (and their codes) only from a 2xx."""
        result, _status = super().get_response(request, data, show_graphiql)
        return result, 200

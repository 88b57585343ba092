"""GraphQL over WebSocket: `graphql-transport-ws`, and the legacy `graphql-ws`.

The transport knows no chat. It speaks the two protocols (SPEC section 6), authenticates
the connection, runs queries, mutations and subscriptions against the schema, and renders
each event of a subscription once per event, query shape and process, shared by every
subscriber (`Renderings`). The schema is handed to it (`Endpoint`, set by a subclass). Subscription resolvers return async iterables of
(render key, root value) pairs; `info.context.listen(group)` is one such iterable, fed by the
channel layer messages of that `group` (joined once per process, chatsite.groups). A message
of type `connection.close` closes every connection of its group with its `code`.
"""
import asyncio
import json
import logging
from collections import OrderedDict
from inspect import isawaitable

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from graphql import (
    ExecutionResult,
    FragmentSpreadNode,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
)
from graphql.execution import create_source_event_stream
from graphql.language import Visitor, visit

from chatsite.auth import require_user, user_from_authorization, user_from_session
from chatsite import db, sql
from chatsite.db import on_db_thread, on_setup_thread
from chatsite.documents import Documents
from chatsite.errors import ChatError, RateLimited, Unauthenticated
from chatsite.graphql import format_error
from chatsite.groups import process_groups
from chatsite.health import register as show_in_health
from chatsite.metrics import SUBSCRIPTION_EVENTS_SENT
from chatsite.query_cost import VALIDATION_RULES
from chatsite.ws_protocol import (
    CLOSE_BAD_REQUEST,
    CLOSE_DUPLICATE,
    CLOSE_FORBIDDEN,
    CLOSE_INIT_TIMEOUT,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_TOO_MANY_INITS,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    CONNECTION_CLOSE,
    LEGACY_WS,
    TRANSPORT_WS,
)

log = logging.getLogger("chatsite.graphql_ws")

KEEPALIVE_SECONDS = 15
# An operation id is echoed in every message of the operation and kept while it runs.
MAX_OPERATION_ID = 128


class BadFrame(Exception):
    pass


class OpenConnections:
    """Authenticated connections per user in this process, capped: one user can't hold
    thousands of sockets (and their memory) open on a web process."""

    def __init__(self):
        self.by_user = {}
        self.subscriptions = 0  # running on them, of every kind

    def take(self, user_id):
        held = self.by_user.get(user_id, 0)
        if held >= settings.WEBSOCKET_MAX_CONNECTIONS_PER_USER:
            return False
        self.by_user[user_id] = held + 1
        return True

    def give_back(self, user_id):
        held = self.by_user.get(user_id, 0) - 1
        if held > 0:
            self.by_user[user_id] = held
        else:
            self.by_user.pop(user_id, None)

    def stats(self):
        return {"open": sum(self.by_user.values()), "users": len(self.by_user), "subscriptions": self.subscriptions}


_open_connections = OpenConnections()
show_in_health("websocket_connections", _open_connections.stats)



def render_variables(document, operation):
    """Names of the variables a subscription's result depends on: those used below its root
    field. The root field's own arguments choose the stream (a room, a position to resume
    after); they don't change how an event renders, so subscribers that differ only there
    share one rendering."""
    names = set()
    fragments = {d.name.value: d for d in document.definitions if getattr(d, "kind", "") == "fragment_definition"}
    seen = set()

    class Collect(Visitor):
        def enter_variable(self, node, *_):
            names.add(node.name.value)

        def enter_fragment_spread(self, node, *_):
            name = node.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                visit(fragments[name], Collect())

    for selection in operation.selection_set.selections:
        if getattr(selection, "selection_set", None) is not None:
            visit(selection.selection_set, Collect())
        if isinstance(selection, FragmentSpreadNode) or not hasattr(selection, "arguments"):
            visit(selection, Collect())  # a spread at the root: be safe, keep everything it uses
    return frozenset(names)


class Renderings:
    """Subscription results keyed by (event, document, variables, operation): every
    subscriber of a room with the same query shape shares one execution and one
    serialization of each event. Bounded in entries and in bytes, so no set of subscriptions
    can make it hold more than a few MB."""

    def __init__(self, schema, max_entries=2048, max_bytes=8 * 1024 * 1024):
        self.schema, self.max_entries, self.max_bytes = schema, max_entries, max_bytes
        self.kept = OrderedDict()
        self.bytes = 0

    def render(self, key, document, root, variables, operation_name, context):
        cached = self.kept.get(key)
        if cached is not None:
            self.kept.move_to_end(key)
            return cached
        result = execute(self.schema.graphql_schema, document, root, context, variables, operation_name)
        if isawaitable(result):  # our resolvers are synchronous; never expected
            raise RuntimeError("subscription resolvers must be synchronous")
        rendered = json.dumps(result_payload(result), separators=(",", ":"))
        self.kept[key] = rendered
        self.bytes += len(rendered)
        while self.kept and (len(self.kept) > self.max_entries or self.bytes > self.max_bytes):
            self.bytes -= len(self.kept.popitem(last=False)[1])
        return rendered


class Endpoint:
    """What a GraphQL WebSocket consumer serves: a schema, handed to it (the transport knows
    no schema of its own), with the documents it parsed and the renderings it shares."""

    def __init__(self, schema, rules=VALIDATION_RULES):
        self.schema = schema
        self.documents = Documents(schema, rules, max_bytes=settings.GRAPHQL_DOCUMENT_CACHE_BYTES)
        self.renderings = Renderings(schema)


def result_payload(result):
    payload = {"data": result.data}
    if result.errors:
        payload["errors"] = [format_error(error) for error in result.errors]
    return payload


# What a message waiting for a slow reader is counted as (presence lists, typing, errors).
GROUP_MESSAGE_BYTES = 1024


class Backlog:
    """What one connection holds for a reader that hasn't taken it yet, bounded.

    Event streams count each event they queue for the connection (`take`) and hand back its
    size once it is sent (`give`); past WEBSOCKET_MAX_BACKLOG_BYTES the connection has fallen
    too far behind and is dropped (`on_full`). Streams that read what was missed from the
    database read one page at a time per connection (`turn`), only as the socket takes it:
    a reader that stops reading keeps one page in memory, whatever it subscribed to."""

    def __init__(self, on_full):
        self.held = 0
        self.on_full = on_full
        self.turn = asyncio.Lock()

    def take(self, size):
        self.held += size
        if self.held > settings.WEBSOCKET_MAX_BACKLOG_BYTES:
            self.on_full()
            return False
        return True

    def give(self, size):
        self.held -= size


class ConnectionContext:
    """What resolvers see as `info.context` on a WebSocket: the user, the event streams, and
    the connection's backlog (what streams may hold for it)."""

    def __init__(self, consumer, user):
        self.consumer = consumer
        self.user = user
        self.backlog = consumer.backlog
        # The peer, as for HTTP's REMOTE_ADDR (behind a proxy on this machine, the address
        # it forwards: uvicorn's --proxy-headers), for the throttles (chatsite/graphql.py).
        self.client_address = (consumer.scope.get("client") or (None,))[0]

    def listen(self, group):
        return self.consumer.listen(group)


def _fresh_user(user):
    """Re-read the user, so a deactivation takes effect for new subscriptions at once.
    Anonymous or gone: AnonymousUser, which `require_user` refuses."""
    if user is None or not user.is_authenticated:
        return AnonymousUser()
    return sql.by_pk(get_user_model(), user.pk) or AnonymousUser()


class GraphQLWebSocketConsumer(AsyncWebsocketConsumer):
    """One connection. Subclasses set `endpoint` (the schema served) and name the groups a
    connection joins for its user.

    A connection has no channel layer channel of its own: the groups it listens to are
    joined once per process (chatsite.groups), which calls it with their messages."""

    channel_layer_alias = "no channel per connection"  # not a configured layer: none
    endpoint = None  # an Endpoint, set by the subclass

    async def __call__(self, scope, receive, send):
        # Once a close has gone out, nothing more may be sent (the server would raise and the
        # consumer die before disconnect() gives back what the connection held), and frames
        # still arriving are ignored until the disconnect.
        self.close_sent = False
        self.server_send = send  # the hot path's, which checks close_sent itself

        async def send_until_closed(message):
            if self.close_sent:
                return
            if message["type"] == "websocket.close":
                self.close_sent = True
            try:
                await send(message)
            except RuntimeError:  # uvicorn's word for "this connection is closed already"
                self.close_sent = True

        return await super().__call__(scope, receive, send_until_closed)

    def _handlers(self):
        return {
            "websocket.connect": self.websocket_connect,
            "websocket.receive": self.websocket_receive,
            "websocket.disconnect": self.websocket_disconnect,
        }

    def connection_groups(self, user):
        return []

    async def connect(self):
        requested = self.scope.get("subprotocols") or []
        self.protocol = LEGACY_WS if LEGACY_WS in requested and TRANSPORT_WS not in requested else TRANSPORT_WS
        self.user = None
        self.own_groups = []
        self.initialised = False
        self.acknowledged = False
        self.operations = {}  # id -> asyncio.Task
        self.listeners = {}  # group -> {asyncio.Queue, ...}
        self.backlog = Backlog(self.fell_behind)
        self.dropped = False
        await self.accept(subprotocol=self.protocol if self.protocol in requested else None)
        self.init_timer = asyncio.ensure_future(self._close_unless_initialised())
        self.keepalive = None

    async def disconnect(self, code):
        await self.release()

    async def release(self):
        """Give back everything the connection holds (at its end, or when it is dropped)."""
        if getattr(self, "counted_user", None) is not None:
            _open_connections.give_back(self.counted_user)
            self.counted_user = None
        operations = list(self.operations.values())
        for task in (self.init_timer, self.keepalive, *operations):
            if task is not None:
                task.cancel()
        await asyncio.gather(*operations, return_exceptions=True)
        self.operations.clear()
        groups = set(self.listeners) | set(self.own_groups)
        self.listeners.clear()
        self.own_groups = []
        for group in groups:
            process_groups().discard(group, self._group_message)

    async def dispatch(self, message):
        # Straight to the handler: none of Channels' per-message database clean-up (a thread
        # hop per frame); the operations that touch the database clean up themselves.
        handler = self._handlers().get(message["type"])
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def _group_message(self, message):
        """A message of one of this connection's groups (called by chatsite.groups)."""
        if message.get("type") == CONNECTION_CLOSE:
            log.info("websocket closed by %s (code %s)", message.get("group"), message.get("code"))
            self._closing = asyncio.ensure_future(self.close(code=message.get("code", CLOSE_FORBIDDEN[0])))
            return
        for queue in self.listeners.get(message.get("group"), ()):
            if self.backlog.take(GROUP_MESSAGE_BYTES):
                queue.put_nowait(message)

    def fell_behind(self):
        """The reader left more than WEBSOCKET_MAX_BACKLOG_BYTES unread: what the connection
        holds is released at once, then it is closed with CLOSE_TOO_SLOW (a reader that reads
        nothing may never take the close frame, but it no longer holds anything here)."""
        if self.dropped:
            return
        self.dropped = True
        log.info("websocket dropped: more than %s bytes unread (user %s)", settings.WEBSOCKET_MAX_BACKLOG_BYTES, getattr(self.user, "pk", None))
        self._closing = asyncio.ensure_future(self._drop())

    async def _drop(self):
        await self.release()
        await self._close(CLOSE_TOO_SLOW)

    async def _close_unless_initialised(self):
        await asyncio.sleep(settings.WEBSOCKET_INIT_TIMEOUT_SECONDS)
        if not self.acknowledged:
            await self._close(CLOSE_INIT_TIMEOUT)

    async def _close(self, code_reason):
        code, reason = code_reason
        await self.close(code=code, reason=reason)

    async def send_json(self, message):
        await self.send(text_data=json.dumps(message, separators=(",", ":")))

    # --- frames in ---

    async def receive(self, text_data=None, bytes_data=None):
        if self.close_sent or self.dropped:
            return
        raw = text_data if text_data is not None else bytes_data
        if raw is None or len(raw.encode() if isinstance(raw, str) else raw) > settings.WEBSOCKET_MAX_FRAME_BYTES:
            return await self._close(CLOSE_BAD_REQUEST)
        try:
            message = json.loads(raw)
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                raise BadFrame
            if "id" in message and (not isinstance(message["id"], str) or len(message["id"]) > MAX_OPERATION_ID):
                raise BadFrame
            await self.dispatch_message(message)
        except (ValueError, RecursionError, BadFrame):  # not JSON, nested too deep, not a message
            await self._close(CLOSE_BAD_REQUEST)

    async def dispatch_message(self, message):
        kind = message["type"]
        if kind == "connection_init":
            return await self.on_init(message.get("payload"))
        if kind == "ping" and self.protocol == TRANSPORT_WS:
            return await self.send_json({"type": "pong"})
        if kind == "pong" and self.protocol == TRANSPORT_WS:
            return None
        if kind in ("subscribe", "start"):
            return await self.on_subscribe(message)
        if kind in ("complete", "stop"):
            return await self.on_complete(message)
        if kind == "connection_terminate" and self.protocol == LEGACY_WS:
            return await self.close()
        raise BadFrame

    async def on_init(self, payload):
        if self.initialised:
            return await self._close(CLOSE_TOO_MANY_INITS)
        self.initialised = True
        try:
            self.user = await self.authenticate(payload if isinstance(payload, dict) else {})
        except ChatError as error:
            log.info("websocket refused: %s", error.message)
            if self.protocol == LEGACY_WS:
                await self.send_json({"type": "connection_error", "payload": {"message": error.message}})
            return await self._close(CLOSE_FORBIDDEN)
        if not _open_connections.take(self.user.pk):
            log.info("websocket refused: user %s holds %s connections", self.user.pk, settings.WEBSOCKET_MAX_CONNECTIONS_PER_USER)
            return await self._close(CLOSE_TOO_MANY_CONNECTIONS)
        self.counted_user = self.user.pk
        self.acknowledged = True
        self.init_timer.cancel()
        self.own_groups = list(self.connection_groups(self.user))
        for group in self.own_groups:
            await process_groups().join(group, self._group_message)
        await self.send_json({"type": "connection_ack"})
        if self.protocol == LEGACY_WS:
            self.keepalive = asyncio.ensure_future(self._keep_alive())

    async def authenticate(self, payload):
        header = payload.get("authorization") or payload.get("Authorization")
        if header and not isinstance(header, str):
            raise Unauthenticated("`authorization` must be a string: `Bearer <access token>`.")
        # On the threads kept for connection set-up: no user's queued work delays an ack.
        if header:
            return await on_setup_thread(user_from_authorization, header)
        # A browser: the session its cookie names (chatsite.asgi.SessionCookie).
        user = await on_setup_thread(user_from_session, self.scope.get("session_key"))
        return require_user(user)

    async def _keep_alive(self):
        while True:
            await self.send_json({"type": "ka"})
            await asyncio.sleep(KEEPALIVE_SECONDS)

    async def on_subscribe(self, message):
        if not self.acknowledged:
            return await self._close(CLOSE_UNAUTHORIZED)
        op_id, payload = message.get("id"), message.get("payload")
        if not isinstance(op_id, str) or not op_id or not isinstance(payload, dict):
            raise BadFrame
        if op_id in self.operations:
            return await self._close(CLOSE_DUPLICATE)
        if len(self.operations) >= settings.WEBSOCKET_MAX_OPERATIONS:
            # Refused, not queued: the connection and its other operations go on.
            limit = RateLimited(f"At most {settings.WEBSOCKET_MAX_OPERATIONS} operations at once on one connection.")
            return await self._send_errors(op_id, [GraphQLError(limit.message, original_error=limit)])
        self.operations[op_id] = asyncio.ensure_future(self.run_operation(op_id, payload))

    async def on_complete(self, message):
        task = self.operations.pop(message.get("id"), None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if self.protocol == LEGACY_WS:
                await self.send_json({"type": "complete", "id": message["id"]})

    # --- operations ---

    async def run_operation(self, op_id, payload):
        # This operation's database work queues in its user's lane (chatsite.db): one user's
        # requests take turns with everyone else's, never ahead of them.
        db.lane.set(("user", self.user.pk))
        try:
            await self._run(op_id, payload)
        except asyncio.CancelledError:
            raise
        except OSError:
            # The client went away mid-send (uvicorn's ClientDisconnected): disconnect cleans up.
            self.operations.pop(op_id, None)
        except Exception:
            log.exception("operation %s failed", op_id)
            await self._finish_with_errors(op_id, [GraphQLError("Internal server error.", original_error=RuntimeError())])

    async def _run(self, op_id, payload):
        query = payload.get("query")
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict):
            return await self._finish_with_errors(op_id, [GraphQLError("A `query` string is required.")])
        document, errors = self.endpoint.documents.get(query)
        if errors:
            return await self._finish_with_errors(op_id, list(errors))
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return await self._finish_with_errors(op_id, [GraphQLError("Unknown or ambiguous operation.")])
        context = ConnectionContext(self, await on_db_thread(_fresh_user, self.user))

        if operation.operation != OperationType.SUBSCRIPTION:
            # Queries and mutations over the socket: one result, then complete. One at a time
            # per connection, in the connection's turn (as a resume's pages): a client that
            # doesn't read holds one result here, and one request on the database threads.
            async with self.backlog.turn:
                result = await on_db_thread(execute, self.endpoint.schema.graphql_schema, document, None, context, variables, operation_name)
                await self.send_next(op_id, json.dumps(result_payload(result)))
            return await self._complete(op_id)

        stream = await create_source_event_stream(
            self.endpoint.schema.graphql_schema, document, None, context, variables, operation_name
        )
        if isinstance(stream, ExecutionResult):
            return await self._finish_with_errors(op_id, stream.errors)
        used = render_variables(document, operation)
        shape = (query, json.dumps({k: v for k, v in variables.items() if k in used}, sort_keys=True), operation_name)
        # The hot path, once per event and subscriber: a shared rendering, one string
        # concatenation, one call to the server's send.
        prefix, send, render = self.next_prefix(op_id), self.server_send, self.endpoint.renderings.render
        events_sent = SUBSCRIPTION_EVENTS_SENT
        _open_connections.subscriptions += 1
        try:
            async for key, root in stream:
                payload = render((key, shape), document, root, variables, operation_name, context)
                if self.close_sent:
                    return
                try:
                    await send({"type": "websocket.send", "text": prefix + payload + "}"})
                except RuntimeError:  # closed by the server meanwhile (see __call__)
                    self.close_sent = True
                    return
                events_sent.value += 1
        except ChatError as error:  # the stream ended for a reason the client can act on
            return await self._finish_with_errors(op_id, [GraphQLError(error.message, original_error=error)])
        finally:
            _open_connections.subscriptions -= 1
            await stream.aclose()
        await self._complete(op_id)

    async def _finish_with_errors(self, op_id, errors):
        """The operation ends with these errors, in one `error` message. Its payload is the
        list of errors on graphql-transport-ws, and one error object on the legacy
        graphql-ws (as that protocol defines; clients such as Python's gql drop the whole
        connection on a list): the first error, its message naming the others if any."""
        if self.operations.pop(op_id, None) is not None:
            await self._send_errors(op_id, errors)

    async def _send_errors(self, op_id, errors):
        formatted = [format_error(e) for e in errors]
        if self.protocol == TRANSPORT_WS:
            return await self.send_json({"type": "error", "id": op_id, "payload": formatted})
        first = dict(formatted[0])
        if len(formatted) > 1:
            first["message"] = "; ".join(error["message"] for error in formatted)
        await self.send_json({"type": "error", "id": op_id, "payload": first})

    async def _complete(self, op_id):
        if self.operations.pop(op_id, None) is not None:
            await self.send_json({"type": "complete", "id": op_id})

    def next_prefix(self, op_id):
        """A result message up to its payload: `next` (graphql-transport-ws) or `data` (legacy)."""
        kind = "next" if self.protocol == TRANSPORT_WS else "data"
        return f'{{"type":"{kind}","id":{json.dumps(op_id)},"payload":'

    async def send_next(self, op_id, payload_json):
        await self.send(text_data=self.next_prefix(op_id) + payload_json + "}")

    # --- the channel layer ---

    async def listen(self, group):
        """The layer messages of one group, as (render key, message) pairs, for one
        subscription. The connection's own groups are joined already."""
        queue = asyncio.Queue()
        listeners = self.listeners.setdefault(group, set())
        first = not listeners
        listeners.add(queue)
        try:
            if first and group not in self.own_groups:
                await process_groups().join(group, self._group_message)
            while True:
                message = await queue.get()
                self.backlog.give(GROUP_MESSAGE_BYTES)
                yield (message["type"], message.get("request_id")), message
        finally:
            self.backlog.give(GROUP_MESSAGE_BYTES * queue.qsize())
            listeners.discard(queue)
            if not listeners and self.listeners.get(group) is listeners:
                del self.listeners[group]
                if group not in self.own_groups:  # the connection stays in its own groups
                    process_groups().discard(group, self._group_message)

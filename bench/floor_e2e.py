"""Floor (d): a post's whole way, written as thin as the parts allow.

The same work a post does on the chat's own tables, in the same database, on the same
broker, with the same parts (uvicorn under the Procfile `web` line's flags, psycopg, PyJWT,
Celery with the Procfile `worker` line's flags and chatsite/celery.py's reliability
settings), and nothing else: no Django, no GraphQL library, no ORM.

- web (`application`, a raw ASGI app): POST with createPost's JSON body and bearer token:
  the JWT verified (signature, expiry, `token_type` access: what simplejwt checks); on a
  pool of 8 threads (the chat's HTTP_THREADS), in one transaction: the sender's requests in
  the rate window counted (one statement), the request INSERTed, `requested` published with
  a publisher confirm; then the answer createPost gives (`success`, `requestId`).
- worker: `requested` publishes `accepted` (a route stage: no database); `accepted`, in one
  transaction, takes the room's row lock and its next position (one UPDATE ... RETURNING),
  INSERTs the post, commits, then publishes the room's group message (msgpack to the
  `groups` exchange, as posts/modes.py does).

What the chat does on top, by its rules, and this floor doesn't: the room looked up with its
access rule, the user's row locked (one sender's requests counted one at a time), clientId,
the backlog check, the sender's earlier pending posts stored first, the request marked
stored, mentions, one log line per stage.

Configured from the environment: AMQP_URL, DATABASE_URL, SECRET_KEY, BENCH_FLOOR_QUEUE,
RATE_LIMIT_POSTS, RATE_LIMIT_WINDOW_SECONDS.
"""
import asyncio
import json
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import msgpack
import psycopg
from kombu import Exchange

from bench.floor_celery import RETRY_POLICY, configured_app

REQUESTED = "bench.floor.e2e.requested"
ACCEPTED = "bench.floor.e2e.accepted"
GROUPS = Exchange("groups", type="direct", durable=False, auto_delete=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
DATABASE_URL = os.environ.get("DATABASE_URL", "")
RATE_LIMIT = int(os.environ.get("RATE_LIMIT_POSTS", "10"))
RATE_WINDOW = float(os.environ.get("RATE_LIMIT_WINDOW_SECONDS", "5"))

app = configured_app(
    os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"), os.environ.get("BENCH_FLOOR_QUEUE", "bench-floor-e2e")
)
_local = threading.local()


def _db():
    """This thread's connection (autocommit: each `transaction()` is BEGIN ... COMMIT)."""
    connection = getattr(_local, "db", None)
    if connection is None or connection.closed:
        connection = _local.db = psycopg.connect(DATABASE_URL, autocommit=True)
    return connection


def _publish(task, payload):
    app.send_task(task, kwargs=payload, argsrepr="()", kwargsrepr="", retry=True, retry_policy=RETRY_POLICY)


# --- web ---

def create_post(user_id, room_id, body):
    """The request recorded and published, or None past the rate limit."""
    request_id = str(uuid.uuid4())
    db = _db()
    with db.transaction():
        recent = db.execute(
            "SELECT count(*) FROM posts_postrequest WHERE user_id = %s AND created_at >= now() - make_interval(secs => %s)",
            (user_id, RATE_WINDOW),
        ).fetchone()[0]
        if recent >= RATE_LIMIT:
            return None
        db.execute(
            "INSERT INTO posts_postrequest (request_id, user_id, room_id, body, is_command, state, created_at)"
            " VALUES (%s, %s, %s, %s, false, 'pending', now())",
            (request_id, user_id, room_id, body),
        )
        _publish(REQUESTED, {"request_id": request_id, "room_id": room_id, "user_id": user_id, "body": body})
    return request_id


_threads = ThreadPoolExecutor(8, thread_name_prefix="floor-http")


def _answer(data):
    return json.dumps(data, separators=(",", ":")).encode()


async def _http(scope, receive, send):
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    status, body = 200, b"ok"
    if scope["path"] != "/healthz":
        try:
            token = dict(scope["headers"])[b"authorization"].decode().split(" ", 1)[1]
            claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
            if claims.get("token_type") != "access":
                raise jwt.InvalidTokenError("not an access token")
            user_id = int(claims["user_id"])
        except (KeyError, IndexError, ValueError, jwt.InvalidTokenError):
            status, body = 401, _answer({"errors": [{"message": "bad token", "extensions": {"code": "UNAUTHENTICATED"}}]})
        else:
            given = json.loads(b"".join(chunks))["variables"]["input"]
            request_id = await asyncio.get_running_loop().run_in_executor(
                _threads, create_post, user_id, given["roomId"], given["body"])
            if request_id is None:
                body = _answer({"errors": [{"message": "slow down", "extensions": {"code": "RATE_LIMITED"}}]})
            else:
                body = _answer({"data": {"createPost": {"success": True, "requestId": request_id}}})
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


async def application(scope, receive, send):
    if scope["type"] == "http":
        return await _http(scope, receive, send)
    if scope["type"] == "lifespan":
        for _ in range(2):  # startup, then shutdown
            message = await receive()
            await send({"type": message["type"] + ".complete"})


# --- worker ---

@app.task(name=REQUESTED, shared=False)
def requested(**payload):
    _publish(ACCEPTED, payload)


@app.task(name=ACCEPTED, shared=False)
def accepted(request_id, room_id, user_id, body):
    db = _db()
    with db.transaction():
        seq = db.execute(
            "UPDATE rooms_room SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq", (room_id,)
        ).fetchone()[0]
        post_id, created_at = db.execute(
            "INSERT INTO posts_post (room_id, user_id, author, body, is_bot, created_at, request_id, seq)"
            " VALUES (%s, %s, %s, %s, false, now(), %s, %s) RETURNING id, created_at",
            (room_id, user_id, f"user{user_id}", body, request_id, seq),
        ).fetchone()
    group = f"room.{room_id}"
    post = {"id": post_id, "room_id": room_id, "seq": seq, "author": f"user{user_id}", "body": body,
            "created_at": created_at.isoformat(), "request_id": request_id}
    with app.producer_pool.acquire(block=True, timeout=5) as producer:
        producer.publish(
            msgpack.packb({"__asgi_group__": group, "type": "post.created", "post": post}),
            exchange=GROUPS, declare=[GROUPS], routing_key=group, content_encoding="binary",
            retry=True, retry_policy=RETRY_POLICY,
        )

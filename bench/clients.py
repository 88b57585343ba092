"""Real clients, as a browser or a GraphQL client speaks to the chat: asyncio, one process.

- `HttpConnection`: a tiny HTTP/1.1 keep-alive client (POST JSON, read the status line, the
  headers and a Content-Length or chunked body). Small on purpose: the load generator shares
  two cores with the stack, and every microsecond it spends is one the stack does not get.
- `UserPool`: the posting users, each paced to the app's post rate limit (10 posts in any
  5 s by default), so a RATE_LIMITED answer means the app counted wrong, not that we pushed.
- `ClosedLoop` / `OpenLoop`: createPost as fast as answered with K in flight, or at a fixed
  rate whatever the answers do (latency measured from the intended send time's actual send).
- `Subscription`: a graphql-transport-ws `postCreated` subscription over `websockets`,
  recording every receipt: latency from the createPost send (the post's body carries its
  send time), duplicates, and order.

Every loop is bounded by a deadline or a count.
"""
import asyncio
import itertools
import json
import time
from array import array
from collections import Counter, deque
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

CREATE_POST = "mutation($input: CreatePostInput!) { createPost(input: $input) { success requestId } }"
POST_CREATED = "subscription($input: PostCreatedInput!) { postCreated(input: $input) { id seq body } }"
MARK = "b"


def now_ns():
    # CLOCK_MONOTONIC is one clock for every process of the machine: a Celery worker's
    # timestamps compare with ours.
    return time.monotonic_ns()


def marker_body(n, sent_ns, pad):
    """A post's body: a unique number and its send time, padded to a chat-like length."""
    body = f"{MARK}:{n}:{sent_ns}:"
    return body + "x" * max(0, pad - len(body))


def parse_marker(body):
    """(n, sent_ns) of a body made by `marker_body`, or None for anyone else's post."""
    if not body.startswith(MARK + ":"):
        return None
    try:
        _, n, sent, _ = body.split(":", 3)
        return int(n), int(sent)
    except ValueError:
        return None


class HttpError(Exception):
    pass


class HttpConnection:
    """One keep-alive HTTP/1.1 connection to one server; reconnects after a close."""

    def __init__(self, base_url, timeout=30.0):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.host_header = f"{self.host}:{self.port}".encode()
        self.timeout = timeout
        self.reader = self.writer = None

    async def _connect(self):
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, path, body, headers=()):
        try:
            return await asyncio.wait_for(self._post(path, body, headers), self.timeout)
        except BaseException:
            self.close()  # a half-read answer would poison the next request
            raise

    async def _post(self, path, body, headers):
        if self.writer is None:
            await self._connect()
        head = [b"POST " + path.encode() + b" HTTP/1.1", b"Host: " + self.host_header,
                b"Content-Type: application/json", b"Content-Length: " + str(len(body)).encode()]
        head += [f"{k}: {v}".encode() for k, v in headers]
        self.writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise HttpError("connection closed before the answer")
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        for _ in range(200):
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value:
                chunked = True
            elif name == b"connection" and value == b"close":
                close = True
        if chunked:
            data = b""
            for _ in range(100000):
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                data += await self.reader.readexactly(size + 2)
                data = data[:-2]
        elif length is not None:
            data = await self.reader.readexactly(length)
        else:
            data = await self.reader.read()
            close = True
        if close:
            self.close()
        return status, data


async def create_post(http, token, room_id, body):
    """createPost over HTTP; the outcome: "ok", a GraphQL error code, "http_<status>"."""
    payload = json.dumps({"query": CREATE_POST, "variables": {"input": {"roomId": room_id, "body": body}}}).encode()
    status, data = await http.post("/graphql/", payload, (("Authorization", f"Bearer {token}"),))
    if status != 200:
        return f"http_{status}"
    try:
        answer = json.loads(data)
    except ValueError:
        return "http_200_not_json"
    if answer.get("errors"):
        return (answer["errors"][0].get("extensions") or {}).get("code") or "GRAPHQL_ERROR"
    if ((answer.get("data") or {}).get("createPost") or {}).get("success"):
        return "ok"
    return "not_success"


class User:
    __slots__ = ("id", "username", "token", "recent")

    def __init__(self, user_id, username, token, limit):
        self.id, self.username, self.token = user_id, username, token
        self.recent = deque(maxlen=limit)  # answer times (s) of its latest posts


class UserPool:
    """Posting users, least recently used first, each paced to the app's rate limit.

    A user may post again when its `limit`-th latest post was answered more than `window`
    seconds ago (plus a margin): the server stamps a request before it answers and counts
    from when the next one arrives, so this never trips the limit, whatever the latency.
    A user is busy while its post is in flight (one user's posts are serialized by the app
    anyway: it locks the user's row).
    """

    def __init__(self, users, limit, window, margin=0.1):
        self.limit, self.window, self.margin = limit, window, margin
        self.free = deque(User(*u, limit) for u in users)
        self.released = asyncio.Event()
        self.waited = 0  # acquisitions that had to wait for a user: the pool paced the load

    def __len__(self):
        return len(self.free)

    async def acquire(self, deadline):
        """A user that may post now, or None when `deadline` (monotonic s) passes first."""
        waited = False
        while True:
            now = time.monotonic()
            if self.free:
                user = self.free[0]
                wait = 0.0 if len(user.recent) < self.limit else user.recent[0] + self.window + self.margin - now
                if wait <= 0:
                    self.waited += waited
                    return self.free.popleft()
            else:
                wait = 0.05
            waited = True
            if now + wait > deadline:
                return None
            self.released.clear()
            try:
                await asyncio.wait_for(self.released.wait(), min(wait, 0.05))
            except TimeoutError:
                pass

    def release(self, user):
        user.recent.append(time.monotonic())
        self.free.append(user)
        self.released.set()


class PostLog:
    """What the posting side saw: every createPost's outcome and round-trip time."""

    def __init__(self):
        self.numbers = itertools.count(1)
        self.outcomes = Counter()
        self.sent = 0
        self.ok_at = array("q")  # answer time (ns) of each accepted post
        self.rtt_ns = array("q")  # createPost round trip of each accepted post
        self.late = 0  # open loop: sends more than 10 ms behind schedule

    def record(self, outcome, sent_ns, answered_ns):
        self.outcomes[outcome] += 1
        if outcome == "ok":
            self.ok_at.append(answered_ns)
            self.rtt_ns.append(answered_ns - sent_ns)

    def accepted_between(self, start_ns, end_ns):
        return sum(1 for t in self.ok_at if start_ns <= t < end_ns)


async def _post_once(http, pool, user, room_id, log, pad, on_number=None):
    n = next(log.numbers)
    if on_number is not None:
        on_number(n)
    sent = now_ns()
    log.sent += 1
    try:
        outcome = await create_post(http, user.token, room_id, marker_body(n, sent, pad))
    except (OSError, asyncio.IncompleteReadError, HttpError, TimeoutError, ValueError) as exc:
        outcome = f"conn_{type(exc).__name__}"
    finally:
        pool.release(user)
    log.record(outcome, sent, now_ns())
    return n, outcome


class ClosedLoop:
    """`inflight` posters, each sending its next createPost as soon as the last is answered
    (`until="answer"`), or as soon as a subscriber received it (`until="receipt"`: the
    pipeline's own pace, no backlog), on keep-alive connections spread over the web
    processes; rooms taken in turn."""

    def __init__(self, web_urls, pool, rooms, inflight, pad, until="answer", receipts=None, receipt_timeout=30.0):
        self.web_urls, self.pool, self.rooms, self.inflight, self.pad = web_urls, pool, rooms, inflight, pad
        self.until, self.receipts, self.receipt_timeout = until, receipts, receipt_timeout
        self.log = PostLog()

    async def run(self, stop_at):
        room_turn = itertools.cycle(self.rooms)

        async def poster(n):
            http = HttpConnection(self.web_urls[n % len(self.web_urls)])
            try:
                for _ in range(10_000_000):
                    if time.monotonic() >= stop_at:
                        break
                    user = await self.pool.acquire(stop_at)
                    if user is None:
                        break
                    if self.until != "receipt":
                        await _post_once(http, self.pool, user, next(room_turn), self.log, self.pad)
                        continue
                    waiter = asyncio.get_running_loop().create_future()

                    def expect(number, waiter=waiter):  # registered before the send: no race
                        self.receipts.waiters[number] = waiter

                    n, outcome = await _post_once(
                        http, self.pool, user, next(room_turn), self.log, self.pad, on_number=expect
                    )
                    try:
                        if outcome == "ok":
                            await asyncio.wait_for(waiter, self.receipt_timeout)
                    except TimeoutError:
                        self.log.outcomes["no_receipt_in_time"] += 1
                    finally:
                        self.receipts.waiters.pop(n, None)
            finally:
                http.close()

        await asyncio.gather(*(poster(n) for n in range(self.inflight)))


class OpenLoop:
    """createPost at `rate` a second, whatever the answers do: each send is its own task, on
    a keep-alive connection taken from a pool (at most `max_connections` in flight)."""

    def __init__(self, web_urls, pool, rooms, rate, pad, max_connections=256):
        self.web_urls, self.pool, self.rooms, self.rate, self.pad = web_urls, pool, rooms, rate, pad
        self.max_connections = max_connections
        self.idle = {url: [] for url in web_urls}
        self.open = 0
        self.returned = asyncio.Event()
        self.log = PostLog()

    async def _connection(self, url, deadline):
        for _ in range(100_000):
            if self.idle[url]:
                return self.idle[url].pop()
            if self.open < self.max_connections:
                self.open += 1
                return HttpConnection(url)
            self.returned.clear()
            if time.monotonic() > deadline:
                return None
            try:
                await asyncio.wait_for(self.returned.wait(), 0.05)
            except TimeoutError:
                pass
        return None

    async def _send(self, url, room_id, stop_at):
        user = await self.pool.acquire(stop_at + 1)
        if user is None:
            self.log.outcomes["no_user_free"] += 1
            return
        http = await self._connection(url, stop_at + 1)
        if http is None:
            self.pool.release(user)
            self.log.outcomes["no_connection_free"] += 1
            return
        try:
            await _post_once(http, self.pool, user, room_id, self.log, self.pad)
        finally:
            self.idle[url].append(http)
            self.returned.set()

    async def run(self, stop_at):
        start = time.monotonic()
        total = int((stop_at - start) * self.rate)
        tasks = set()
        for n in range(total):
            due = start + n / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.01:
                self.log.late += 1
            task = asyncio.ensure_future(
                self._send(self.web_urls[n % len(self.web_urls)], self.rooms[n % len(self.rooms)], stop_at)
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=60)
        for conns in self.idle.values():
            for http in conns:
                http.close()


class Receipts:
    """Every delivery of a scenario: receive time and latency (ns; -1 when the post is not
    one of ours), in two flat arrays, cheap enough for a million receipts."""

    def __init__(self):
        self.at = array("q")
        self.latency = array("q")
        self.waiters = {}  # post number -> future, for a closed loop on receipts

    def add(self, at, latency, number=None):
        self.at.append(at)
        self.latency.append(latency)
        if number is not None and self.waiters:
            waiter = self.waiters.pop(number, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(at)

    def __len__(self):
        return len(self.at)

    def between(self, start_ns, end_ns):
        return sum(1 for t in self.at if start_ns <= t < end_ns)


async def ws_connect(url, timeout):
    return await connect(
        url,
        subprotocols=["graphql-transport-ws"],
        compression=None,  # daphne declines permessage-deflate anyway; say so explicitly
        proxy=None,  # loopback only, whatever the environment says
        ping_interval=None,  # no keepalive traffic in the figures
        open_timeout=timeout,
        close_timeout=2,
        max_size=2**20,
    )


class Subscription:
    """One connection, one `postCreated` subscription to one room."""

    def __init__(self, ws_url, token, room_id, after, receipts, ws_label):
        self.ws_url, self.token, self.room_id, self.after = ws_url, token, room_id, after
        self.receipts = receipts
        self.ws_label = ws_label
        self.ws = None
        self.task = None
        self.seqs = set()
        self.last_seq = after  # the newest seq received (or resumed after)
        self.previous_seq = after  # the seq of the receipt before this one
        self.duplicates = 0
        self.out_of_order = 0
        self.ended = None  # why the subscription or the connection ended early
        self.closing = False

    async def open(self, timeout=30):
        self.ws = await ws_connect(self.ws_url, timeout)
        try:
            await self._start(timeout)
        except BaseException:
            self.closing = True
            self.ws.transport.abort()
            raise
        return self

    async def _start(self, timeout):
        await self.ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}))
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        variables = {"input": {"roomId": self.room_id, "after": self.after}}
        await self.ws.send(json.dumps({"type": "subscribe", "id": "posts", "payload": {"query": POST_CREATED, "variables": variables}}))
        self.task = asyncio.ensure_future(self._read())

    async def _read(self):
        try:
            async for raw in self.ws:
                at = now_ns()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    self._receipt(message["payload"]["data"]["postCreated"], at)
                elif kind == "ping":
                    await self.ws.send('{"type":"pong"}')
                elif kind in ("error", "complete"):
                    self.ended = f"{kind}: {json.dumps(message.get('payload'))[:200]}"
                    break
            if not self.closing and self.ended is None:
                self.ended = f"closed by the server ({self.ws.close_code})"
        except ConnectionClosed as exc:
            if not self.closing:
                self.ended = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        except (KeyError, TypeError, ValueError) as exc:
            self.ended = f"unreadable message: {exc!r}"

    def _receipt(self, post, at):
        seq = post["seq"]
        if seq in self.seqs:
            self.duplicates += 1
        else:
            self.seqs.add(seq)
        if seq < self.previous_seq:
            self.out_of_order += 1
        self.previous_seq = seq
        self.last_seq = max(self.last_seq, seq)
        marker = parse_marker(post["body"])
        if marker:
            self.receipts.add(at, at - marker[1], marker[0])
        else:
            self.receipts.add(at, -1)

    @property
    def connected(self):
        return self.ended is None

    async def close(self):
        self.closing = True
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 5)
            except (OSError, WebSocketException, TimeoutError):
                pass
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


async def open_all(make, count, concurrency, deadline, on_progress=None):
    """Open `count` connections with at most `concurrency` handshakes at once, before
    `deadline` (monotonic s). Returns (opened, errors Counter)."""
    opened, errors = [], Counter()
    numbers = iter(range(count))

    async def opener():
        for n in numbers:
            if time.monotonic() > deadline:
                errors["deadline passed"] += 1
                continue
            try:
                opened.append(await make(n).open(timeout=max(1.0, min(30.0, deadline - time.monotonic()))))
            except (OSError, WebSocketException, TimeoutError, RuntimeError, ValueError) as exc:
                errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
            if on_progress:
                on_progress(len(opened), count)

    await asyncio.gather(*(opener() for _ in range(min(concurrency, count))))
    return opened, errors


async def close_all(connections, concurrency=200):
    for start in range(0, len(connections), concurrency):
        await asyncio.gather(*(c.close() for c in connections[start : start + concurrency]))

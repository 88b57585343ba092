"""The clients the tests speak as: GraphQL over HTTP (in-process through Django's client, or
to a started server), a graphql-transport-ws / graphql-ws WebSocket, and a started process's
/healthz/ figures and Prometheus metrics."""
import itertools
import json

import requests
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.stack import http_get, wait_until

SIGN_UP = """mutation($input: AuthInput!) {
  signUp(input: $input) { accessToken refreshToken user { id username } }
}"""
CREATE_POST = """mutation($input: CreatePostInput!) { createPost(input: $input) { success requestId } }"""
POSTS = """query($input: PostsInput!) {
  posts(input: $input) { id roomId seq userId author body isBot createdAt }
}"""
PASSWORD = "a long enough passphrase"
POST_FIELDS = "id roomId userId author body isBot createdAt"
POST_CREATED = f"subscription($room: ID!) {{ postCreated(input: {{roomId: $room}}) {{ {POST_FIELDS} }} }}"
POST_ERROR = "subscription { postError { requestId roomId userId body reason } }"
WHO_AM_I = "query { user { id username } }"
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
QUIET_SECONDS = 1.5  # how long "nothing arrives" is watched, always after a positive control
_names = itertools.count(1)
_op_ids = itertools.count(1)


def new_username(prefix="user"):
    return f"{prefix}{next(_names)}"


class InProcess:
    """Django's test client against the GraphQL view."""

    def __init__(self, client):
        self.client = client

    def __call__(self, query, variables=None, token=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        response = self.client.post(
            "/graphql/", json.dumps({"query": query, "variables": variables or {}}), content_type="application/json", **headers
        )
        return response.json()


class OverHttp:
    """A real HTTP client against a started `web` process."""

    def __init__(self, base_url):
        self.url = f"{base_url}/graphql/"

    def __call__(self, query, variables=None, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = requests.post(self.url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=15)
        return response.json()


def data(result, field=None):
    """The answer's data (or one field of it), asserting there were no errors."""
    assert "errors" not in result, result
    return result["data"] if field is None else result["data"][field]


def sign_up(gql, username=None):
    """A new user; returns (access token, user id, username)."""
    username = username or new_username()
    result = gql(SIGN_UP, {"input": {"username": username, "password": PASSWORD}})
    assert "errors" not in result, result
    payload = result["data"]["signUp"]
    return payload["accessToken"], payload["user"]["id"], username


def error_code(result):
    assert result.get("errors"), f"expected an error, got {result}"
    return result["errors"][0]["extensions"]["code"]


# --- WebSocket ---


class Socket:
    """One WebSocket client speaking JSON frames."""

    def __init__(self, url, protocol=TRANSPORT_WS, **options):
        self.protocol = protocol
        # legacy=False: websockets' forward-compatible form, a context manager.
        self._connecting = connect(url, subprotocols=[protocol], open_timeout=10, close_timeout=2, legacy=False, **options)
        self.ws = self._connecting.__enter__()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._connecting.__exit__(*exc)

    def close(self):
        self.__exit__(None, None, None)

    def send(self, message):
        self.ws.send(json.dumps(message))

    def recv(self, timeout=10):
        return json.loads(self.ws.recv(timeout=timeout))

    def init(self, token=None, payload=None):
        if payload is None:
            payload = {"authorization": f"Bearer {token}"} if token else {}
        self.send({"type": "connection_init", "payload": payload})
        ack = self.recv()
        assert ack == {"type": "connection_ack"}, ack
        return self

    def subscribe(self, query, variables=None, op_id=None):
        op_id = op_id or f"op{next(_op_ids)}"
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        self.send({"type": kind, "id": op_id, "payload": {"query": query, "variables": variables or {}}})
        return op_id

    def subscribe_posts(self, room_id, op_id=None):
        return self.subscribe(POST_CREATED, {"room": room_id}, op_id)

    def next_payload(self, op_id, timeout=10):
        message = self.recv(timeout)
        kind = "next" if self.protocol == TRANSPORT_WS else "data"
        assert message["type"] == kind and message["id"] == op_id, message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]

    def events(self, op_id, count, field="roomEvents", timeout=10):
        """The next `count` results of subscription `op_id`, each its `field`."""
        return [self.next_payload(op_id, timeout)[field] for _ in range(count)]

    def query(self, query, variables=None):
        """A query over the socket: one result, then `complete`."""
        op_id = self.subscribe(query, variables)
        data = self.next_payload(op_id)
        assert self.recv() == {"type": "complete", "id": op_id}
        return data

    def close_code(self, timeout=10):
        """Read until the server closes; the close code it sent."""
        try:
            while True:
                self.ws.recv(timeout=timeout)
        except ConnectionClosed:
            return self.ws.close_code

    def assert_silent(self, seconds=QUIET_SECONDS):
        try:
            message = self.ws.recv(timeout=seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected nothing, received {message}")


def until_heard(socket, op_id, act, tries=5, timeout=3.2):
    """A subscription has no acknowledgement: `act()` until subscription `op_id` hears of it
    (each try waits `timeout` for it); the first payload heard."""
    for _ in range(tries):
        act()
        try:
            return socket.next_payload(op_id, timeout=timeout)
        except TimeoutError:
            continue
    raise AssertionError(f"subscription {op_id} heard nothing in {tries} tries")


# --- a started process's figures ---


def scrape(process):
    """The process's Prometheus metrics: {(sample name, sorted label pairs): value}."""
    body = http_get(process.metrics_url, timeout=10)[1].decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def health(web, staff_token):
    """The process's /healthz/ figures (staff only)."""
    response = requests.get(f"{web.url}/healthz/", headers={"Authorization": f"Bearer {staff_token}"}, timeout=10)
    body = response.json()
    assert "group_memberships" in body and "asyncio_tasks" in body, body
    return body


def listening(body):
    """What a process listens to: each connection's own group, plus one per subscription to a
    room (a process joins each group once, for all its listeners, and a room's stream is one
    listener for all its subscriptions)."""
    streams = body["room_streams"]
    return body["process_groups"]["listeners"] - streams["rooms"] + streams["subscribers"]


def wait_memberships(web, staff_token, count, timeout=10):
    """Until the process listens to exactly `count` groups for connections and subscriptions.
    A subscription has no acknowledgement, so this is how a test knows it is live."""
    seen = []

    def reached():
        seen.append(listening(health(web, staff_token)))
        return seen[-1] == count

    try:
        wait_until(reached, timeout, f"{count} group memberships on {web.label}")
    except AssertionError as error:
        raise AssertionError(f"{error}; last seen {seen[-5:]}") from None

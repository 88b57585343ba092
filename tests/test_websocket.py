"""GraphQL over WebSocket (SPEC section 6), spoken by real clients to started `web` processes.

Embedded tests share one `web` process per module (no AMQP_URL: tasks and fan-out run in
it). A subscription has no acknowledgement in either protocol, so a test knows it is live
when the process's /healthz/ (staff only) counts the group membership it makes.
"""
import asyncio
import json
import time

import pytest
import requests
from django.contrib.auth import get_user_model
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.clients import (
    LEGACY_WS, PASSWORD, POST_CREATED, POST_ERROR, POST_FIELDS, TRANSPORT_WS, WHO_AM_I,
    OverHttp, Socket, health, listening, new_username, sign_up, wait_memberships,
)
from tests.helpers import add_post, chatter, make_room, posted, user_with_token
from tests.stack import wait_until

FRAME_LIMIT = 64 * 1024

pytestmark = pytest.mark.usefixtures("transactional_db", "general")


# --- the shared embedded web process ---


@pytest.fixture(scope="module")
def web(embedded_web):
    return embedded_web


@pytest.fixture
def staff_token():
    return user_with_token("staff", staff=True)[1]


@pytest.fixture
def quiet_web(web, staff_token):
    """The shared process, once the previous test's connections have left their groups."""
    wait_memberships(web, staff_token, 0)
    return web


@pytest.fixture
def alice(quiet_web):
    return chatter()


@pytest.fixture
def bob(quiet_web):
    return chatter()


# --- graphql-transport-ws: connecting ---


def test_bad_token_in_connection_init_closes_4403(quiet_web):
    with Socket(quiet_web.ws_url) as socket:
        socket.send({"type": "connection_init", "payload": {"authorization": "Bearer not.a.token"}})
        assert socket.close_code() == 4403


def test_no_token_and_no_session_closes_4403(quiet_web):
    with Socket(quiet_web.ws_url) as socket:
        socket.send({"type": "connection_init", "payload": {}})
        assert socket.close_code() == 4403


def test_subscribe_before_connection_ack_closes_4401(quiet_web):
    with Socket(quiet_web.ws_url) as socket:
        socket.subscribe_posts("general")
        assert socket.close_code() == 4401


def test_no_connection_init_within_3_seconds_closes_4408(quiet_web):
    with Socket(quiet_web.ws_url) as socket:
        started = time.monotonic()
        assert socket.close_code(timeout=10) == 4408
        assert 2.5 <= time.monotonic() - started < 8


def test_ping_gets_pong(quiet_web, alice):
    with Socket(quiet_web.ws_url).init(alice[0]) as socket:
        socket.send({"type": "ping"})
        assert socket.recv() == {"type": "pong"}


def test_browser_origin_outside_allowed_hosts_is_refused_at_handshake(quiet_web):
    with pytest.raises(InvalidStatus) as refused:
        Socket(quiet_web.ws_url, origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_browser_origin_from_another_port_of_an_allowed_host_is_refused(quiet_web):
    with pytest.raises(InvalidStatus):
        Socket(quiet_web.ws_url, origin=f"http://127.0.0.1:{quiet_web.port + 1}")
    with pytest.raises(InvalidStatus):
        Socket(quiet_web.ws_url, origin="http://localhost:9999")


def test_browser_origin_of_the_site_is_accepted(quiet_web, alice):
    with Socket(quiet_web.ws_url, origin=f"http://127.0.0.1:{quiet_web.port}").init(alice[0]) as socket:
        assert socket.query(WHO_AM_I) == {"user": {"id": alice[1], "username": alice[2]}}


def test_session_cookie_authenticates_with_an_empty_connection_init(quiet_web):
    staff, _ = user_with_token("staff", staff=True, password=PASSWORD)
    browser = requests.Session()
    login_page = browser.get(f"{quiet_web.url}/admin/login/", timeout=10)
    assert login_page.status_code == 200
    logged_in = browser.post(
        f"{quiet_web.url}/admin/login/?next=/admin/",
        data={
            "username": staff.username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            "next": "/admin/",
        },
        timeout=10,
    )
    assert logged_in.status_code == 200 and "sessionid" in browser.cookies, logged_in.text[:500]
    cookie = f"sessionid={browser.cookies['sessionid']}"

    with Socket(quiet_web.ws_url, additional_headers={"Cookie": cookie}).init(payload={}) as socket:
        assert socket.query(WHO_AM_I) == {"user": {"id": str(staff.pk), "username": staff.username}}


def test_deactivated_user_cannot_subscribe_or_connect(quiet_web, alice):
    token, user_id, _ = alice
    with Socket(quiet_web.ws_url).init(token) as socket:
        assert socket.query(WHO_AM_I)["user"]["id"] == user_id

        get_user_model().objects.filter(pk=user_id).update(is_active=False)
        refused = socket.subscribe_posts("general")
        message = socket.recv()
        assert message["type"] == "error" and message["id"] == refused, message
        assert [e["extensions"]["code"] for e in message["payload"]] == ["FORBIDDEN"], message

    with Socket(quiet_web.ws_url) as socket:
        socket.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert socket.close_code() == 4403


# --- graphql-transport-ws: operations ---


def test_duplicate_subscription_id_closes_4409(quiet_web, alice):
    with Socket(quiet_web.ws_url).init(alice[0]) as socket:
        socket.subscribe_posts("general", op_id="same")
        socket.subscribe_posts("general", op_id="same")
        assert socket.close_code() == 4409


def test_invalid_query_gets_an_error_and_the_connection_stays_usable(quiet_web, alice, staff_token):
    token = alice[0]
    with Socket(quiet_web.ws_url).init(token) as socket:
        bad = socket.subscribe("subscription { postCreated(input: {roomId: \"general\"}) { id nonsense } }")
        message = socket.recv()
        assert message["type"] == "error" and message["id"] == bad, message
        assert "nonsense" in message["payload"][0]["message"], message
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT", message

        good = socket.subscribe_posts("general")
        wait_memberships(quiet_web, staff_token, 2)
        posted(OverHttp(quiet_web.url), token, "after the error")
        assert socket.next_payload(good)["postCreated"]["body"] == "after the error"


def test_a_subscription_that_asks_too_much_is_refused_and_the_connection_stays_usable(quiet_web, alice, staff_token):
    """4,000 aliases of `body` (43 KB): each post would be rendered as megabytes for every
    such subscriber. Refused before it runs; nothing joins a group for it."""
    token = alice[0]
    aliases = " ".join(f"b{n}: body" for n in range(4000))
    with Socket(quiet_web.ws_url).init(token) as socket:
        greedy = socket.subscribe(f'subscription {{ postCreated(input: {{roomId: "general"}}) {{ {aliases} }} }}')
        message = socket.recv()
        assert message["type"] == "error" and message["id"] == greedy, message
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        good = socket.subscribe_posts("general")
        wait_memberships(quiet_web, staff_token, 2)
        posted(OverHttp(quiet_web.url), token, "still served")
        assert socket.next_payload(good)["postCreated"]["body"] == "still served"


@pytest.mark.parametrize(
    "frame, code",
    [
        ({"type": "connection_init", "payload": {"authorization": 123}}, 4403),
        ({"type": "connection_init", "payload": {"authorization": ["Bearer x"]}}, 4403),
        ("[" * 50000 + "]" * 50000, 4400),
        ({"type": "complete", "id": [1]}, 4400),
        ({"type": "subscribe", "id": "x" * 60000, "payload": {"query": "{ __typename }"}}, 4400),
    ],
    ids=["authorization-number", "authorization-list", "deeply-nested-json", "id-a-list", "id-of-60-kb"],
)
def test_hostile_frames_close_with_the_contracts_code_and_leave_nothing_behind(quiet_web, staff_token, frame, code):
    for _ in range(5):
        with Socket(quiet_web.ws_url) as socket:
            socket.ws.send(frame if isinstance(frame, str) else json.dumps(frame))
            assert socket.close_code() == code
    wait_memberships(quiet_web, staff_token, 0)
    assert "Traceback" not in quiet_web.log()


def test_one_connection_holds_at_most_50_operations_and_one_user_20_connections(quiet_web, alice, staff_token):
    token = alice[0]
    with Socket(quiet_web.ws_url).init(token) as socket:
        for n in range(50):
            socket.subscribe(POST_ERROR, op_id=f"held{n}")
        refused = socket.subscribe(POST_ERROR, op_id="one-too-many")
        message = socket.recv()
        assert (message["type"], message["id"]) == ("error", refused), message
        assert message["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
        socket.send({"type": "complete", "id": "held0"})  # one place freed: the connection goes on
        assert socket.query(WHO_AM_I)["user"]["id"] == alice[1]
    sockets = [Socket(quiet_web.ws_url).init(token) for _ in range(20)]
    try:
        with Socket(quiet_web.ws_url) as extra:
            extra.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
            assert extra.close_code() == 4429
    finally:
        for socket in sockets:
            socket.__exit__(None, None, None)
    # Leaving gives the places back.
    wait_memberships(quiet_web, staff_token, 0)
    with Socket(quiet_web.ws_url) as again:
        again.init(token)


def test_an_answer_over_64_kb_reaches_the_client_the_limit_is_on_what_clients_send(quiet_web, alice):
    """Issue 9, item 9: 50 posts of 2,000 characters are a ~110 KB answer."""

    for n in range(50):
        add_post("general", f"{n:02d}" + "x" * 1998)
    with Socket(quiet_web.ws_url).init(alice[0]) as socket:
        query = 'query { posts(input: {roomId: "general"}) { seq body } }'
        posts = socket.query(query)["posts"]
    assert len(posts) == 50 and all(len(p["body"]) == 2000 for p in posts)


def test_frame_over_64_kb_closes_4400(quiet_web, alice):
    with Socket(quiet_web.ws_url).init(alice[0]) as socket:
        # Control: a frame of exactly 64 KB is still read.
        head, tail = '{"type":"ping","payload":{"pad":"', '"}}'
        socket.ws.send(head + "x" * (FRAME_LIMIT - len(head) - len(tail)) + tail)
        assert socket.recv() == {"type": "pong"}
        socket.ws.send(head + "x" * (FRAME_LIMIT + 1 - len(head) - len(tail)) + tail)
        assert socket.close_code() == 4400


@pytest.mark.parametrize("size", [2 * 1024 * 1024], ids=["2MiB"])
def test_frame_over_the_servers_own_limit_also_closes_4400(quiet_web, alice, size):
    """The server (uvicorn, --ws-max-size) refuses messages over its own limit before the
    consumer sees them; the contract's code must hold there too."""
    with Socket(quiet_web.ws_url, max_size=None).init(alice[0]) as socket:
        try:
            socket.ws.send('{"type":"ping","payload":"' + "x" * size + '"}')
        except ConnectionClosed:
            pass
        assert socket.close_code() == 4400


def test_complete_stops_delivery_but_another_subscription_still_receives(quiet_web, alice, staff_token):
    token = alice[0]
    with Socket(quiet_web.ws_url).init(token) as socket:
        stopped = socket.subscribe_posts("general")
        kept = socket.subscribe_posts("general")
        wait_memberships(quiet_web, staff_token, 3)  # user.<id>, and each subscription
        posted(OverHttp(quiet_web.url), token, "both see this")
        first = [socket.recv(), socket.recv()]
        assert sorted(m["id"] for m in first) == sorted([stopped, kept]), first

        socket.send({"type": "complete", "id": stopped})
        posted(OverHttp(quiet_web.url), token, "only the kept one sees this")
        assert socket.next_payload(kept)["postCreated"]["body"] == "only the kept one sees this"
        socket.assert_silent()


def test_several_subscriptions_on_one_connection(quiet_web, alice, staff_token):
    token = alice[0]
    make_room("kitchen")
    with Socket(quiet_web.ws_url).init(token) as socket:
        general_1, general_2 = socket.subscribe_posts("general"), socket.subscribe_posts("general")
        kitchen = socket.subscribe_posts("kitchen")
        errors = socket.subscribe(POST_ERROR)
        wait_memberships(quiet_web, staff_token, 4)  # user.<id> (every connection), and each subscription to a room

        posted(OverHttp(quiet_web.url), token, "hello general")
        got = {m["id"]: m["payload"]["data"]["postCreated"]["body"] for m in (socket.recv(), socket.recv())}
        assert got == {general_1: "hello general", general_2: "hello general"}

        posted(OverHttp(quiet_web.url), token, "hello kitchen", "kitchen")
        assert socket.next_payload(kitchen)["postCreated"]["body"] == "hello kitchen"

        posted(OverHttp(quiet_web.url), token, "/foo")
        error = socket.next_payload(errors)["postError"]
        assert (error["body"], error["roomId"]) == ("/foo", "general")
        socket.assert_silent()


def test_post_created_for_one_room_does_not_receive_another_rooms_posts(quiet_web, alice, staff_token):
    token = alice[0]
    make_room("elsewhere")
    with Socket(quiet_web.ws_url).init(token) as socket:
        op_id = socket.subscribe_posts("general")
        wait_memberships(quiet_web, staff_token, 2)
        posted(OverHttp(quiet_web.url), token, "not for general", "elsewhere")
        posted(OverHttp(quiet_web.url), token, "for general")
        # Had the first post leaked, it would arrive first.
        received = socket.next_payload(op_id)["postCreated"]
        assert (received["roomId"], received["body"]) == ("general", "for general")
        socket.assert_silent()


def test_post_created_delivers_the_post_as_stored(quiet_web, alice, staff_token):
    token, user_id, username = alice
    with Socket(quiet_web.ws_url).init(token) as socket:
        op_id = socket.subscribe_posts("general")
        wait_memberships(quiet_web, staff_token, 2)
        posted(OverHttp(quiet_web.url), token, "as stored")
        received = socket.next_payload(op_id)["postCreated"]
    history = OverHttp(quiet_web.url)(
        "query { posts(input: {roomId: \"general\"}) { " + POST_FIELDS + " } }", token=token
    )["data"]["posts"]
    assert received == history[-1]
    assert (received["userId"], received["author"], received["isBot"]) == (user_id, username, False)


@pytest.mark.parametrize("command", ["/stock=nope.us", "/foo", "/help"])
def test_post_error_reaches_only_the_requester(quiet_web, alice, bob, staff_token, command):
    with Socket(quiet_web.ws_url) as mine, Socket(quiet_web.ws_url) as theirs:
        mine.init(alice[0])
        theirs.init(bob[0])
        my_errors, their_errors = mine.subscribe(POST_ERROR), theirs.subscribe(POST_ERROR)
        wait_memberships(quiet_web, staff_token, 2)

        request_id = posted(OverHttp(quiet_web.url), alice[0], command)
        error = mine.next_payload(my_errors)["postError"]
        assert error["requestId"] == request_id
        assert (error["userId"], error["roomId"], error["body"]) == (alice[1], "general", command)
        assert error["reason"]
        theirs.assert_silent()

        # Control: bob's subscription works; his own error reaches him, and not alice.
        request_id = posted(OverHttp(quiet_web.url), bob[0], "/bar")
        assert theirs.next_payload(their_errors)["postError"]["requestId"] == request_id
        mine.assert_silent()


# --- legacy graphql-ws ---


def test_legacy_connection_init_gets_ack_and_keepalive(quiet_web, alice):
    with Socket(quiet_web.ws_url, protocol=LEGACY_WS) as socket:
        assert socket.ws.subprotocol == LEGACY_WS
        socket.send({"type": "connection_init", "payload": {"authorization": f"Bearer {alice[0]}"}})
        assert socket.recv() == {"type": "connection_ack"}
        assert socket.recv() == {"type": "ka"}


def test_legacy_start_gets_the_same_post_as_the_modern_protocol_and_stop_completes(quiet_web, alice, staff_token):
    token = alice[0]
    with Socket(quiet_web.ws_url, protocol=LEGACY_WS) as legacy, Socket(quiet_web.ws_url) as modern:
        legacy.init(token)
        assert legacy.recv() == {"type": "ka"}
        modern.init(token)
        legacy_op, modern_op = legacy.subscribe_posts("general"), modern.subscribe_posts("general")
        wait_memberships(quiet_web, staff_token, 4)

        posted(OverHttp(quiet_web.url), token, "for both protocols")
        from_legacy = legacy.next_payload(legacy_op)["postCreated"]
        assert from_legacy["body"] == "for both protocols"
        assert from_legacy == modern.next_payload(modern_op)["postCreated"]

        legacy.send({"type": "stop", "id": legacy_op})
        assert legacy.recv() == {"type": "complete", "id": legacy_op}
        posted(OverHttp(quiet_web.url), token, "after stop")
        assert modern.next_payload(modern_op)["postCreated"]["body"] == "after stop"
        legacy.assert_silent()


def test_legacy_invalid_operation_gets_one_error_object_and_the_connection_stays_usable(quiet_web, alice, staff_token):
    """Frames as Python's gql sends them in its legacy (`graphql-ws`) mode: it reads the
    `error` payload as one error object and dropped the whole connection on a list."""
    token = alice[0]
    with Socket(quiet_web.ws_url, protocol=LEGACY_WS) as socket:
        socket.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert socket.recv() == {"type": "connection_ack"}
        assert socket.recv() == {"type": "ka"}
        query = "subscription {\n  postCreated(input: {roomId: \"general\"}) {\n    id\n    nonsense\n  }\n}"
        socket.send({"id": "1", "type": "start", "payload": {"query": query}})
        message = socket.recv()
        assert message["type"] == "error" and message["id"] == "1", message
        assert isinstance(message["payload"], dict), "one error object, as the legacy protocol defines"
        assert "nonsense" in message["payload"]["message"]
        assert message["payload"]["extensions"]["code"] == "BAD_USER_INPUT"

        socket.send({"id": "2", "type": "start", "payload": {"query": POST_CREATED, "variables": {"room": "general"}}})
        wait_memberships(quiet_web, staff_token, 2)
        posted(OverHttp(quiet_web.url), token, "legacy still works")
        assert socket.next_payload("2")["postCreated"]["body"] == "legacy still works"


def test_legacy_bad_token_gets_connection_error_then_close(quiet_web):
    with Socket(quiet_web.ws_url, protocol=LEGACY_WS) as socket:
        socket.send({"type": "connection_init", "payload": {"authorization": "Bearer not.a.token"}})
        message = socket.recv()
        assert message["type"] == "connection_error" and message["payload"]["message"], message
        assert socket.close_code() == 4403


# --- issue 3 point 4: nothing leaks per connection ---

CYCLES = 1000
CONCURRENCY = 15  # under the 20 connections a user may hold on a process


async def _cycle(url, token, i):
    """Connect, subscribe, disconnect; one in four leaves abruptly (no complete, no close)."""
    ws = await aconnect(url, subprotocols=[TRANSPORT_WS], open_timeout=20)
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 20)) == {"type": "connection_ack"}
        query, variables = (POST_CREATED, {"room": "general"}) if i % 2 else (POST_ERROR, {})
        await ws.send(json.dumps({"type": "subscribe", "id": "s", "payload": {"query": query, "variables": variables}}))
        mode = i % 4
        if mode in (1, 3):  # make sure the server has read the subscribe before leaving
            await ws.send('{"type":"ping"}')
            assert json.loads(await asyncio.wait_for(ws.recv(), 20)) == {"type": "pong"}
        if mode == 0:
            await ws.send(json.dumps({"type": "complete", "id": "s"}))
        if mode == 3:
            ws.transport.abort()
    finally:
        await ws.close()


async def _cycles(web, token, staff_token, count):
    peak = 0
    done = asyncio.Event()

    async def watch():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, listening(await asyncio.to_thread(health, web, staff_token)))

    watcher = asyncio.create_task(watch())
    slots = asyncio.Semaphore(CONCURRENCY)

    async def limited(i):
        async with slots:
            await _cycle(web.ws_url, token, i)

    try:
        await asyncio.gather(*(limited(i) for i in range(count)))
    finally:
        done.set()
        await watcher
    return peak


def test_a_thousand_connections_leave_no_group_memberships_or_tasks_behind(quiet_web, alice, staff_token):
    asyncio.run(_cycles(quiet_web, alice[0], staff_token, 20))  # warm up what is created once
    wait_memberships(quiet_web, staff_token, 0)
    before = health(quiet_web, staff_token)

    started = time.monotonic()
    peak = asyncio.run(_cycles(quiet_web, alice[0], staff_token, CYCLES))
    elapsed = time.monotonic() - started
    assert peak > 0, "no subscription was ever seen in a group: the cycles tested nothing"

    seen = []

    def back_where_it_started():
        now = health(quiet_web, staff_token)
        seen.append((now["group_memberships"], now["asyncio_tasks"]))
        return seen[-1] == (before["group_memberships"], before["asyncio_tasks"])

    try:
        wait_until(back_where_it_started, 20, "group memberships and asyncio tasks to return")
    except AssertionError:
        pytest.fail(
            f"before: {before['group_memberships']} memberships, {before['asyncio_tasks']} tasks; "
            f"after {CYCLES} cycles in {elapsed:.1f}s: (memberships, tasks) {seen[-3:]}"
        )
    print(f"{CYCLES} cycles in {elapsed:.1f}s, peak {peak} memberships, {before['asyncio_tasks']} tasks")


# --- full stack (issue 3 point 1): two web processes on RabbitMQ ---


@pytest.mark.fullstack
def test_a_post_created_on_web1_reaches_a_subscriber_on_web2_and_not_another_room(full_stack, staff_token):
    web1, web2 = full_stack.web1, full_stack.web2
    make_room("faraway")
    token, user_id, _ = sign_up(OverHttp(web1.url))
    wait_memberships(web2, staff_token, 0)
    with Socket(web2.ws_url) as listener, Socket(web2.ws_url) as elsewhere:
        listener.init(token)
        elsewhere.init(token)
        op_id = listener.subscribe_posts("general")
        elsewhere.subscribe_posts("faraway")
        wait_memberships(web2, staff_token, 4)

        posted(OverHttp(web1.url), token, "across processes")
        received = listener.next_payload(op_id, timeout=10)["postCreated"]
        assert (received["body"], received["userId"], received["roomId"]) == ("across processes", user_id, "general")
        elsewhere.assert_silent()


@pytest.mark.fullstack
@pytest.mark.parametrize("requester_on", ["web1", "web2"])
def test_a_bot_error_reaches_only_its_requester_across_processes(full_stack, staff_token, requester_on):
    webs = {"web1": full_stack.web1, "web2": full_stack.web2}
    mine_on = webs[requester_on]
    alice_token, alice_id, _ = sign_up(OverHttp(full_stack.web1.url))
    bob_token, _, _ = sign_up(OverHttp(full_stack.web1.url))
    for web in webs.values():
        wait_memberships(web, staff_token, 0)
    with Socket(mine_on.ws_url) as mine, Socket(full_stack.web1.ws_url) as bob1, Socket(full_stack.web2.ws_url) as bob2:
        mine.init(alice_token)
        bob1.init(bob_token)
        bob2.init(bob_token)
        my_op = mine.subscribe(POST_ERROR)
        bob1.subscribe(POST_ERROR)
        bob2.subscribe(POST_ERROR)
        for name, web in webs.items():
            wait_memberships(web, staff_token, 2 if name == requester_on else 1)

        # Posted through the other process than the one the requester listens on.
        other = webs["web2" if requester_on == "web1" else "web1"]
        request_id = posted(OverHttp(other.url), alice_token, "/stock=nope.us")
        error = mine.next_payload(my_op, timeout=15)["postError"]
        assert (error["requestId"], error["userId"], error["body"]) == (request_id, alice_id, "/stock=nope.us")
        assert "nope.us" in error["reason"].lower(), error
        bob1.assert_silent()
        bob2.assert_silent(0.2)


def test_a_moderator_deactivating_a_user_closes_their_open_connections(quiet_web, alice, staff_token):
    token, user_id, username = alice
    moderator = get_user_model().objects.create_superuser(new_username("mod"), password=PASSWORD)
    admin = requests.Session()
    admin.get(f"{quiet_web.url}/admin/login/", timeout=10)
    admin.post(
        f"{quiet_web.url}/admin/login/",
        data={"username": moderator.username, "password": PASSWORD, "csrfmiddlewaretoken": admin.cookies["csrftoken"],
              "next": "/admin/"},
        timeout=10,
    )
    with Socket(quiet_web.ws_url).init(token) as socket:
        socket.subscribe_posts("general")
        wait_memberships(quiet_web, staff_token, 2)

        done = admin.post(
            f"{quiet_web.url}/admin/auth/user/",
            data={"action": "deactivate_users", "_selected_action": [user_id], "index": "0",
                  "csrfmiddlewaretoken": admin.cookies["csrftoken"]},
            timeout=10,
        )
        assert done.status_code == 200 and "Deactivated 1 user" in done.text, done.text[:500]
        assert socket.close_code() == 4403
    wait_memberships(quiet_web, staff_token, 0)

"""What one WebSocket client can make a `web` process hold or spend: memory for documents it
sends and for a socket it doesn't read, database threads, validation work. Each test talks
to a started `web` over a real WebSocket and measures the process (its RSS, its answers)."""
import pytest

from tests.clients import Socket, health
from tests.helpers import user_with_token
from tests.stack import Web, embedded_env, running

pytestmark = pytest.mark.usefixtures("transactional_db", "general")

MB = 1024 * 1024


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def error_of(socket, op_id):
    message = socket.recv()
    assert message["type"] == "error" and message["id"] == op_id, message
    return message["payload"]


def test_refused_documents_leave_nothing_behind(embedded_web):
    """300 distinct ~8 KB documents refused at the token limit: the process keeps none of
    them (a cached syntax error held the parser's state, ~0.7 MB each: ~200 MB)."""
    _, token = user_with_token("docs")
    with Socket(embedded_web.ws_url).init(token) as socket:
        socket.subscribe("query { user { id } }", op_id="warm")
        socket.recv()
        socket.recv()
        before = rss(embedded_web.pid)
        for n in range(300):
            document = f"query Q{n} {{ " + " ".join(f"f{i}" for i in range(2100)) + " }"
            assert 8000 < len(document) < 16000
            op_id = socket.subscribe(document, op_id=f"big{n}")
            [error] = error_of(socket, op_id)
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert "token" in error["message"].lower()
        grown = rss(embedded_web.pid) - before
    assert grown < 40 * MB, f"RSS grew by {grown / MB:.0f} MB"


def test_a_document_refused_for_its_cost_is_not_validated_further(embedded_web):
    """Validation stops at the cost rule's refusal: GraphQL's other rules (one of them
    quadratic in same-named fields) never run on it, so the answer is that refusal alone,
    though the document also asks for a field that doesn't exist."""
    _, token = user_with_token("cost")
    document = "query { " + " ".join(f"a{i}: __typename" for i in range(660)) + " nosuchfield }"
    with Socket(embedded_web.ws_url).init(token) as socket:
        errors = error_of(socket, socket.subscribe(document))
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
    assert "too much at once" in errors[0]["message"]


def test_a_document_refused_for_its_cost_over_http_is_that_refusal_alone(client):
    document = "query { " + " ".join(f"a{i}: __typename" for i in range(660)) + " nosuchfield }"
    answer = client.post("/graphql/", {"query": document}, content_type="application/json").json()
    assert [e["message"] for e in answer["errors"]] == [answer["errors"][0]["message"]]
    assert "too much at once" in answer["errors"][0]["message"]


HEAVY = (
    "query($r: ID!) { "
    + " ".join(f"a{i}: posts(input: {{roomId: $r}}) {{ id }}" for i in range(8))
    + " }"
)


def test_one_users_queued_work_keeps_nobody_else_waiting(embedded_web, general):
    """One user queues 500 heavy requests on 10 connections. Another user's new connection is
    still acknowledged (it used to wait behind them all and close with 4408), and their
    request is answered while the first user's work is still queued."""
    from tests.helpers import add_post

    for n in range(50):
        add_post(general, f"{n} " + "x" * 1990)
    _, heavy_token = user_with_token("heavy")
    _, other_token = user_with_token("other")
    _, staff_token = user_with_token("staff", staff=True)
    import requests

    def queued():
        body = requests.get(f"{embedded_web.url}/healthz/", headers={"Authorization": f"Bearer {staff_token}"}, timeout=10).json()
        return body["database_work"]["queued"]

    heavy = [Socket(embedded_web.ws_url).init(heavy_token) for _ in range(10)]
    try:
        for socket in heavy:
            for n in range(50):
                socket.subscribe(HEAVY, {"r": "general"}, op_id=f"h{n}")
        assert queued() > 50, "the heavy user's work was not queued: the test shows nothing"
        with Socket(embedded_web.ws_url) as other:
            other.init(other_token)  # acknowledged, not closed with 4408
            op_id = other.subscribe("query { user { username } }")
            answer = other.recv()
            assert answer["type"] == "next" and answer["id"] == op_id, answer
            still_queued = queued()
        assert still_queued > 0, "the other user's request was answered only after the heavy user's"
    finally:
        for socket in heavy:
            socket.__exit__(None, None, None)


def staff_health(web):
    _, token = user_with_token("health", staff=True)
    return lambda: health(web, token)


def test_readers_that_never_read_make_the_server_hold_one_page_each(embedded_web, general):
    """6 connections of 50 subscriptions each resume `after: 0` over 400 posts of 2,000
    characters, and never read their sockets. Each connection reads what it missed one
    page at a time, only as its socket takes it: the process holds a page per connection,
    not every subscription's history (which took it from ~320 to ~470 MB)."""
    from tests.helpers import add_post
    from tests.stack import wait_until

    for n in range(400):
        add_post(general, f"{n:03d} " + "y" * 1996)
    _, token = user_with_token("stalled")
    health = staff_health(embedded_web)
    query = "subscription { postCreated(input: {roomId: \"general\", after: 0}) { id seq body } }"
    before = rss(embedded_web.pid)
    # max_queue=1: the client stops reading its socket after one frame.
    readers = [Socket(embedded_web.ws_url, max_queue=1).init(token) for _ in range(6)]
    try:
        for socket in readers:
            for n in range(50):
                socket.subscribe(query, op_id=f"s{n}")
        wait_until(lambda: health()["room_streams"]["subscribers"] == 300, 30, "300 subscriptions")
        samples = []

        def settled():
            """Every subscription as far as the sockets let it go: no database work queued,
            and the RSS steady over the last five looks."""
            samples.append(rss(embedded_web.pid))
            recent = samples[-5:]
            return health()["database_work"]["queued"] == 0 and len(recent) == 5 and max(recent) - min(recent) < 2 * MB

        wait_until(settled, 120, "the subscriptions to settle")
        grown = max(samples) - before
    finally:
        for socket in readers:
            socket.__exit__(None, None, None)
    assert grown < 60 * MB, f"RSS grew by {grown / MB:.0f} MB"
    wait_until(lambda: health()["room_streams"]["subscribers"] == 0, 30, "the subscriptions to be released")


@pytest.fixture(scope="module")
def small_backlog_web(stack_env):
    """An embedded `web` that lets a connection leave 64 KB unread, and checks the room's
    position often (so posts stored without the pipeline reach subscribers at once)."""
    env = embedded_env(stack_env, WEBSOCKET_MAX_BACKLOG_BYTES=str(64 * 1024), STREAM_CHECK_SECONDS="0.2")
    with running(Web(env, label="small-backlog")) as process:
        yield process


def test_a_reader_too_far_behind_is_released_then_closed_with_4413(small_backlog_web, general):
    """Posts keep coming to a reader that doesn't read. Past the backlog bound, everything
    its connection held is released at once (while it still reads nothing), and when it
    reads again it gets what was on its way, then the close code 4413."""
    from websockets.exceptions import ConnectionClosed

    from tests.helpers import add_post
    from tests.stack import wait_until

    _, token = user_with_token("slow")
    health = staff_health(small_backlog_web)
    query = "subscription { postCreated(input: {roomId: \"general\"}) { id seq body } }"
    reader = Socket(small_backlog_web.ws_url, max_queue=1).init(token)
    try:
        reader.subscribe(query, op_id="live")
        wait_until(lambda: health()["room_streams"]["subscribers"] == 1, 30, "the subscription")
        for n in range(600):
            add_post(general, f"{n:03d} " + "z" * 1996)
        wait_until(lambda: health()["room_streams"]["subscribers"] == 0, 30, "the slow reader to be released")
        codes = []
        while not codes:
            try:
                reader.ws.recv(timeout=10)
            except ConnectionClosed as closed:
                codes.append(closed.rcvd.code if closed.rcvd else None)
        assert codes == [4413]
    finally:
        reader.__exit__(None, None, None)

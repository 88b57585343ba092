"""What one WebSocket client can make a `web` process hold or spend: memory for documents it
sends and for a socket it doesn't read, database threads, validation work. Each test talks
to a started `web` over a real WebSocket and measures the process (its RSS, its answers)."""
import pytest

from tests.helpers import user_with_token
from tests.test_websocket import Socket

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
    with Socket(embedded_web.ws_url) as socket:
        socket.init(token)
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
    with Socket(embedded_web.ws_url) as socket:
        socket.init(token)
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

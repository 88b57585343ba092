"""The account throttles (SPEC 5) count the same on every transport, and hold when many
attempts arrive at once: over HTTP and over the `/graphql/` WebSocket of started `web`
processes, and from many threads of one process."""
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection

from accounts import services
from tests.clients import PASSWORD, SIGN_UP, Socket, new_username
from tests.helpers import outcome, user_with_token
from tests.stack import Web, ready

LOGIN = "mutation($input: AuthInput!) { login(input: $input) { accessToken } }"
WRONG = "wrong but long enough"

pytestmark = pytest.mark.usefixtures("transactional_db", "general")

# Small address limits, in windows longer than any test here takes.
STRICT = {"SIGNUPS_PER_ADDRESS": "3", "SIGNUP_WINDOW_SECONDS": "600", "LOGINS_PER_MINUTE": "4"}


@pytest.fixture(scope="module")
def strict_web(stack_env):
    """An embedded `web` process with the STRICT limits."""
    env = {k: v for k, v in stack_env.items() if k != "AMQP_URL"}
    process = ready(Web({**env, **STRICT}, label="strict"))
    yield process
    process.stop()


def code(result):
    """The result's error code, or "OK"."""
    errors = result.get("errors")
    return errors[0]["extensions"]["code"] if errors else "OK"


def over_http(web, query, variables, address):
    """A request as it arrives through a proxy on the web process's machine, which names
    the client in X-Forwarded-For."""
    response = requests.post(
        f"{web.url}/graphql/", json={"query": query, "variables": variables},
        headers={"X-Forwarded-For": address}, timeout=30,
    )
    return response.json()


def results(socket, operations):
    """Send every (query, variables) at once on the socket; their results, in order."""
    ids = [socket.subscribe(query, variables) for query, variables in operations]
    got, completed = {}, set()
    while completed != set(ids):
        message = socket.recv(timeout=60)
        if message["type"] == "next":
            got[message["id"]] = message["payload"]
        elif message["type"] == "complete":
            completed.add(message["id"])
        else:
            raise AssertionError(f"unexpected {json.dumps(message)}")
    return [got[op_id] for op_id in ids]


def sign_up_variables(prefix):
    return {"input": {"username": new_username(prefix), "password": PASSWORD}}


def wrong_login(username=None):
    return LOGIN, {"input": {"username": username or new_username("nobody"), "password": WRONG}}


# --- item: the address throttles apply over the WebSocket ---


def test_sign_ups_over_the_websocket_count_against_the_address_as_over_http(strict_web):
    """The connection's client address follows the same proxy rule as HTTP's, and both
    transports count against one limit per address."""
    _, token = user_with_token()
    address, other = "203.0.113.7", "203.0.113.8"
    http = [code(over_http(strict_web, SIGN_UP, sign_up_variables("sock"), address)) for _ in range(2)]
    with Socket(strict_web.ws_url, additional_headers={"X-Forwarded-For": address}) as socket:
        socket.init(token)
        ws = [code(results(socket, [(SIGN_UP, sign_up_variables("sock"))])[0]) for _ in range(3)]
    with Socket(strict_web.ws_url, additional_headers={"X-Forwarded-For": other}) as socket:
        socket.init(token)
        elsewhere = code(results(socket, [(SIGN_UP, sign_up_variables("sock"))])[0])

    assert (http, ws, elsewhere) == (["OK", "OK"], ["OK", "RATE_LIMITED", "RATE_LIMITED"], "OK")
    assert get_user_model().objects.filter(username__startswith="sock").count() == 4


def test_many_sign_ups_on_one_connection_make_only_the_address_limit_of_accounts(strict_web):
    _, token = user_with_token()
    with Socket(strict_web.ws_url) as socket:  # the peer itself: 127.0.0.1
        socket.init(token)
        codes = [code(r) for r in results(socket, [(SIGN_UP, sign_up_variables("many")) for _ in range(8)])]
    assert Counter(codes) == {"OK": 3, "RATE_LIMITED": 5}, codes
    assert get_user_model().objects.filter(username__startswith="many").count() == 3


def test_password_spraying_over_the_websocket_is_throttled_per_address(strict_web):
    """Logins for many usernames from one address: no username is locked, the address is."""
    _, token = user_with_token()
    with Socket(strict_web.ws_url) as socket:
        socket.init(token)
        codes = [code(results(socket, [wrong_login()])[0]) for _ in range(6)]
    assert codes == ["UNAUTHENTICATED"] * 4 + ["RATE_LIMITED"] * 2


# --- item: concurrent wrong passwords don't get past the lockout ---


def fire_together(count, call):
    """`call()` from `count` threads released at the same moment; their answers."""
    barrier = threading.Barrier(count)

    def one(_):
        barrier.wait()
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as threads:
        return list(threads.map(one, range(count)))



def test_concurrent_wrong_passwords_check_at_most_the_lockout_limit(settings):
    """Every UNAUTHENTICATED is a password that was checked: at most LOGIN_FAILURES_MAX.
    (A small limit: each check holds a database connection of this process's pool while it
    hashes, and the pool is 8.)"""
    settings.LOGIN_FAILURES_MAX = 4
    get_user_model().objects.create_user(username="target", password=PASSWORD)
    answers = fire_together(16, lambda: outcome(lambda: services.log_in(username="target", password=WRONG)))
    assert Counter(answers) == {"UNAUTHENTICATED": 4, "RATE_LIMITED": 12}
    assert outcome(lambda: services.log_in(username="target", password=PASSWORD)) == "RATE_LIMITED"


def test_the_right_password_among_concurrent_logins_is_not_counted_as_a_failure(settings):
    get_user_model().objects.create_user(username="owner", password=PASSWORD)
    answers = fire_together(6, lambda: outcome(lambda: services.log_in(username="owner", password=PASSWORD)))
    assert answers == ["OK"] * 6
    nine = settings.LOGIN_FAILURES_MAX - 1
    assert [outcome(lambda: services.log_in(username="owner", password=WRONG)) for _ in range(nine)] == ["UNAUTHENTICATED"] * nine
    assert outcome(lambda: services.log_in(username="owner", password=PASSWORD)) == "OK"


def _concurrent_wrong_logins(webs, per_web, username):
    """`per_web` wrong logins for `username` at once on a WebSocket to each of `webs`."""
    _, token = user_with_token()
    sockets = [Socket(web.ws_url).init(token) for web in webs]
    try:
        with ThreadPoolExecutor(len(sockets)) as threads:
            answers = threads.map(lambda s: results(s, [wrong_login(username)] * per_web), sockets)
            return Counter(code(r) for answer in answers for r in answer)
    finally:
        for socket in sockets:
            socket.__exit__(None, None, None)


def test_concurrent_wrong_logins_over_the_websocket_check_at_most_the_lockout_limit(embedded_web, settings):
    get_user_model().objects.create_user(username="victim", password=PASSWORD)
    counted = _concurrent_wrong_logins([embedded_web], 25, "victim")
    assert counted == {"UNAUTHENTICATED": settings.LOGIN_FAILURES_MAX, "RATE_LIMITED": 25 - settings.LOGIN_FAILURES_MAX}


@pytest.mark.fullstack
def test_concurrent_wrong_logins_on_two_web_processes_check_at_most_the_lockout_limit(full_stack, settings):
    get_user_model().objects.create_user(username="victim2", password=PASSWORD)
    counted = _concurrent_wrong_logins([full_stack.web1, full_stack.web2], 12, "victim2")
    assert counted == {"UNAUTHENTICATED": settings.LOGIN_FAILURES_MAX, "RATE_LIMITED": 24 - settings.LOGIN_FAILURES_MAX}

"""GraphiQL in a real browser against a real `web` process: it renders offline, and a
subscription typed into it shows a post created by another client over HTTP."""
import uuid

import pytest

from tests.browser import chromium
from tests.clients import CREATE_POST, PASSWORD, OverHttp, new_username, sign_up
from tests.stack import ARTIFACTS

SUBSCRIPTION = 'subscription { postCreated(input: {roomId: "general"}) { author body } }'

pytestmark = pytest.mark.browser


@pytest.fixture
def web(web_of_its_own, general):
    return web_of_its_own


@pytest.fixture
def staff_user(transactional_db):
    from django.contrib.auth import get_user_model

    username = new_username("graphiql")
    get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
    return username


@pytest.fixture
def browser(web, staff_user):
    """Chromium, started after the fixtures that touch the database: Playwright's sync API
    runs an event loop in this thread, and Django refuses database calls while it runs."""
    with chromium() as browser:
        yield browser


class Watched:
    """A page, with what went wrong on it: failed requests, HTTP errors, console errors."""

    def __init__(self, page):
        self.page = page
        self.problems = []
        self.handshakes = []
        self.sockets, self.frames_sent = [], []
        page.on("websocket", self._socket)
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"))
        # Chromium's own view of the WebSocket handshake: the URL and the subprotocol asked.
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.webSocketWillSendHandshakeRequest", lambda event: self.handshakes.append(event))

    def _socket(self, socket):
        # Listen from the start: the subscribe frame follows connection_ack within moments.
        self.sockets.append(socket)
        socket.on("framesent", lambda frame: self.frames_sent.append(frame if isinstance(frame, str) else frame.decode()))

    def wait_for_frame_sent(self, needle, timeout_ms=15_000):
        for _ in range(timeout_ms // 50):
            if any(needle in frame for frame in self.frames_sent):
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"no frame with {needle} was sent; sent: {self.frames_sent}")


def log_in(page, web, username):
    page.goto(f"{web.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{web.url}/admin/")


def set_query(page, query):
    """Type into GraphiQL's query editor (CodeMirror): click, select all, replace."""
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    # insert_text, not type(): key-by-key typing would trigger bracket auto-closing.
    page.keyboard.insert_text(query)
    assert page.evaluate("document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()") == query
    # GraphiQL parses the edited document 100 ms later (debounced), and the run button picks
    # HTTP or the WebSocket from that parse: clicked sooner, a subscription goes out as a
    # POST. graphene's graphiql.js writes the query into the URL's fragment right after it.
    page.wait_for_function(
        "query => new URLSearchParams(location.hash.slice(1)).get('query') === query", arg=query, timeout=5_000
    )


def test_graphiql_renders_and_shows_a_subscribed_post(browser, web, staff_user):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport={"width": 1400, "height": 800})
    page = context.new_page()
    log_in(page, web, staff_user)

    watched = Watched(page)
    external = []
    page.on("request", lambda r: r.url.startswith(("http", "ws")) and not r.url.startswith(web.url) and external.append(r.url))
    page.goto(f"{web.url}/graphql/")
    page.locator(".graphiql-query-editor .CodeMirror").wait_for(timeout=20_000)

    # A query over HTTP, as the session user (with the CSRF token graphiql.js sends).
    set_query(page, "{ rooms { id name } }")
    page.click(".graphiql-execute-button")
    page.locator(".result-window", has_text='"name": "General"').wait_for(timeout=15_000)

    # A subscription over the WebSocket, authenticated by the session cookie.
    set_query(page, SUBSCRIPTION)
    page.click(".graphiql-execute-button")
    watched.wait_for_frame_sent('"type":"subscribe"')
    assert [socket.url for socket in watched.sockets] == [web.ws_url]

    gql = OverHttp(web.url)
    token, _, author = sign_up(gql)
    # The channel layer delivers only to subscriptions already registered, and nothing tells
    # the browser when the server has registered it; post again if the first one was early.
    shown = None
    for _ in range(3):
        body = f"hello GraphiQL {uuid.uuid4().hex[:8]}"
        result = gql(CREATE_POST, {"input": {"roomId": "general", "body": body}}, token=token)
        assert result["data"]["createPost"]["success"], result
        try:
            page.locator(".result-window", has_text=body).wait_for(timeout=5_000)
        except PlaywrightTimeout:
            continue
        shown = page.inner_text(".result-window")
        break
    page.screenshot(path=str(ARTIFACTS / "graphiql-subscription.png"))
    assert shown is not None, f"no post reached GraphiQL's result pane:\n{page.inner_text('.result-window')}\n{web.log()[-3000:]}"
    assert f'"author": "{author}"' in shown and f'"body": "{body}"' in shown

    handshake = watched.handshakes[0]["request"]["headers"]
    protocol = {k.lower(): v for k, v in handshake.items()}["sec-websocket-protocol"]
    assert protocol == "graphql-transport-ws"
    assert watched.problems == []
    assert external == []
    context.close()

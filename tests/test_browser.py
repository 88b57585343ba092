"""Two people in one room, in Debian's Chromium, against a started web process.

One scenario, run against the embedded mode (one `web`, no broker) and against the full
stack (RabbitMQ, the Procfile's worker and bot, another web process beside ours).
"""
import os
import shutil

import pytest

from accounts.services import issue_tokens, sign_up
from rooms.services import create_room
from tests.browser import chromium
from tests.graphql_client import CREATE_POST, PASSWORD, POSTS, OverHttp, new_username
from tests.stack import ARTIFACTS, ROOT, Web, wait_until

SCREENSHOTS = ARTIFACTS / "screenshots"
XSS = "<img src=x onerror=alert(1)>"
QUOTE = "AAPL.US quote is $93.42 per share"
WAIT_MS = 15_000

pytestmark = pytest.mark.browser


class Site:
    """Where the browser's own web process runs, and a second way in while it is down."""

    def __init__(self, mode, env, other_url=None):
        self.mode = mode
        self.env = env
        self.other_url = other_url
        self.started = []

    def start_web(self, port=None, label="browser-web"):
        web = Web(self.env, port=port, label=f"{label}-{self.mode}")
        self.started.append(web.start())
        return web.wait_ready()

    def stop(self):
        for web in reversed(self.started):
            web.stop()


@pytest.fixture(
    params=["embedded", pytest.param("full_stack", marks=pytest.mark.fullstack)],
)
def site(request, transactional_db, stack_env):
    if request.param == "embedded":
        site = Site("embedded", {k: v for k, v in stack_env.items() if k != "AMQP_URL"})
    else:
        stack = request.getfixturevalue("full_stack")
        site = Site("full_stack", stack.env, other_url=stack.web2.url)
    try:
        if site.other_url is None:
            # Embedded: a second web process on the same database takes posts while ours is down.
            site.other_url = site.start_web(label="other-web").url
        yield site
    finally:
        site.stop()


def new_page(browser, base_url, viewport):
    context = browser.new_context(base_url=base_url, viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.dialogs, page.problems = [], []

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: message.type == "error"
        and "Content Security Policy" in message.text
        and page.problems.append(f"CSP: {message.text}"),
    )
    return page


def connected(page):
    page.wait_for_selector("#connection[data-state=connected]")


def send(page, body):
    page.fill("#post-body", body)
    page.press("#post-body", "Enter")


def post_locator(page, body):
    return page.locator("#posts li.post .body", has_text=body)


def shown_post_ids(page):
    return page.eval_on_selector_all("#posts li.post", "items => items.map(item => Number(item.dataset.postId))")


def shot(page, name, mode):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{mode}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def test_two_people_chat_live_with_the_bot_and_survive_a_restart(site):
    # Everything the database needs is set up before the browser starts driving.
    room = create_room(room_id=f"trading-{site.mode.replace('_', '-')}", name="Trading floor")
    bea = sign_up(username=new_username("bea"), password=PASSWORD)
    carl_token = issue_tokens(sign_up(username=new_username("carl"), password=PASSWORD))["access_token"]
    ann_name = new_username("ann")
    web = site.start_web()
    room_path = f"/rooms/{room.pk}/"

    with chromium() as browser:
        run_scenario(site, browser, web, room, bea, carl_token, ann_name, room_path)


def run_scenario(site, browser, web, room, bea, carl_token, ann_name, room_path):
    from playwright.sync_api import expect

    ann = new_page(browser, web.url, {"width": 900, "height": 760})
    bob = new_page(browser, web.url, {"width": 390, "height": 760})  # a phone
    try:
        # Ann signs up through the page; Bea logs in and is sent on to the room.
        ann.goto("/signup/")
        ann.fill("#id_username", ann_name)
        ann.fill("#id_password", PASSWORD)
        ann.fill("#id_password_again", PASSWORD)
        ann.click("button[type=submit].primary")
        ann.wait_for_url("**/")
        ann.click(f"a[href='{room_path}']")
        ann.wait_for_url(f"**{room_path}")
        bob.goto(f"/login/?next={room_path}")
        bob.fill("#id_username", bea.username)
        bob.fill("#id_password", PASSWORD)
        bob.click("button[type=submit].primary")
        bob.wait_for_url(f"**{room_path}")
        connected(ann)
        connected(bob)
        expect(ann.locator("#connection")).to_have_text("Live")

        # A post appears for the other person without a reload, and the box clears.
        send(ann, "Morning! Anyone watching Apple?")
        expect(post_locator(bob, "Morning! Anyone watching Apple?")).to_have_count(1)
        expect(ann.locator("#post-body")).to_have_value("")
        expect(ann.locator("li.post--mine .body", has_text="Morning!")).to_have_count(1)

        # The bot's quote reaches both, marked as the bot's.
        send(ann, "/stock=aapl.us")
        for page in (ann, bob):
            quote = page.locator("#posts li.post--bot", has_text=QUOTE)
            expect(quote).to_have_count(1)
            expect(quote.locator(".badge--bot")).to_have_text("bot")
            expect(quote.locator(".author")).to_have_text("StockBot")
        expect(post_locator(bob, "/stock=aapl.us")).to_have_count(0)

        # A failed command: Ann alone is told, and it doesn't look like a post.
        send(ann, "/stock=nope.us")
        error = ann.locator("#posts li.post-error", has_text="/stock=nope.us")
        expect(error).to_have_count(1)
        expect(error).to_contain_text("nothing was posted")

        # Markup in a body stays text; nothing runs.
        send(bob, XSS)
        for page in (ann, bob):
            expect(post_locator(page, XSS)).to_have_text(XSS)
            expect(page.locator("#posts img")).to_have_count(0)
        # By now Bea's page has had every chance to receive Ann's error: it must not have.
        expect(bob.locator("#posts li.post-error")).to_have_count(0)

        # A send the server refuses keeps the text and says why.
        too_long = "x" * 2001
        ann.eval_on_selector("#post-body", "(box, text) => { box.removeAttribute('maxlength'); box.value = text; }", too_long)
        ann.press("#post-body", "Enter")
        expect(ann.locator("#send-error")).to_have_text("A post can have at most 2000 characters.")
        expect(ann.locator("#post-body")).to_have_value(too_long)
        ann.fill("#post-body", "")

        shot(bob, "room-bea", site.mode)
        screenshot = shot(ann, "room-ann", site.mode)
        if site.mode == "embedded" and os.environ.get("UPDATE_DOCS_SCREENSHOT"):
            # The README's picture: refreshed on demand, so a test run leaves the tree clean.
            shutil.copyfile(screenshot, ROOT / "docs" / "room.png")

        # Our web process goes away: both pages say so, and keep trying.
        port = web.port
        web.stop()
        for page in (ann, bob):
            expect(page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
            expect(page.locator("#connection")).to_contain_text("Reconnecting")
        shot(ann, "reconnecting", site.mode)

        # Meanwhile Carl posts through another web process; it is stored, not seen live.
        other = OverHttp(site.other_url)
        missed = "Posted while your connection was down"
        result = other(CREATE_POST, {"input": {"roomId": room.pk, "body": missed, "clientId": "carl-1"}}, token=carl_token)
        assert "errors" not in result, result

        def stored():
            posts = other(POSTS, {"input": {"roomId": room.pk}}, token=carl_token)["data"]["posts"]
            return any(p["body"] == missed for p in posts)

        wait_until(stored, 15, "the post made while the page was offline to be stored")

        # Back on the same port: the pages reconnect and catch up, each post once.
        site.start_web(port=port)
        for page in (ann, bob):
            connected(page)
            expect(post_locator(page, missed)).to_have_count(1)
        send(bob, "Welcome back")
        for page in (ann, bob):
            expect(post_locator(page, "Welcome back")).to_have_count(1)
            ids = shown_post_ids(page)
            assert ids == sorted(set(ids)), f"posts out of order or twice: {ids}"
            assert len(ids) == 5  # Ann's, the quote, Bea's markup, Carl's, Bea's welcome
        expect(ann.locator("#posts li.post-error")).to_have_count(1)
        shot(ann, "caught-up", site.mode)

        for page in (ann, bob):
            assert page.dialogs == [], page.dialogs
            assert page.problems == [], page.problems
    finally:
        for page in (ann, bob):
            page.context.close()

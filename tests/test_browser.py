"""Two people in one room, in Debian's Chromium, against a started web process.

Each scenario runs against the embedded mode (one `web`, no broker) and against the full
stack (RabbitMQ, the Procfile's worker and bot, another web process beside ours): the whole
chat with a restart of the web process, a reader whose own network drops (catching up with
`postCreated(after:)`), and one away too long to be replayed (TOO_FAR_BEHIND: a reload).
"""
import json

import pytest

from accounts.services import issue_tokens, sign_up
from rooms.services import create_room
from tests.browser import (
    CuttableLink, chromium, connected, log_in, new_page, post_locator, send, shot, shown_bodies, shown_post_ids,
    shown_seqs,
)
from tests.clients import CREATE_POST, PASSWORD, POSTS, OverHttp, new_username
from tests.stack import Web, embedded_env, wait_until

XSS = "<img src=x onerror=alert(1)>"
QUOTE = "AAPL.US quote is $93.42 per share"

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
        site = Site("embedded", embedded_env(stack_env))
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


def record_resumes(page):
    """The `after` of every roomEvents subscription the page sends, in order (None: live only)."""
    page.resumes = []

    def on_socket(socket):
        def on_frame(payload):
            try:
                message = json.loads(payload)
            except (TypeError, ValueError):
                return
            if message.get("type") == "subscribe" and "roomEvents" in message["payload"]["query"]:
                page.resumes.append(message["payload"]["variables"]["input"].get("after"))

        socket.on("framesent", on_frame)

    page.on("websocket", on_socket)


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
    for page in (ann, bob):
        record_resumes(page)
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
        # /help: the list of commands, to Ann alone, one per line.
        send(ann, "/help")
        helped = ann.locator("#posts li.post-error", has_text="/help")
        expect(helped.locator(".post-error-reason")).to_contain_text("/time <zone>: the time now in a time zone")
        assert helped.locator(".post-error-reason").evaluate("node => getComputedStyle(node).whiteSpace") == "pre-line"
        helped.locator(".post-error-dismiss").click()
        expect(helped).to_have_count(0)

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
        shot(ann, "room-ann", site.mode)

        # Our web process goes away: both pages say so, and keep trying.
        newest_before = {page: shown_seqs(page)[-1] for page in (ann, bob)}
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

        # Back on the same port: the pages reconnect and catch up, each post once. Carl's
        # post was stored before the pages subscribed again, so only the resume
        # (postCreated with `after` = the newest seq shown) can bring it.
        site.start_web(port=port)
        for page in (ann, bob):
            connected(page)
            expect(post_locator(page, missed)).to_have_count(1)
            assert page.resumes[-1] == newest_before[page], page.resumes
        send(bob, "Welcome back")
        for page in (ann, bob):
            expect(post_locator(page, "Welcome back")).to_have_count(1)
            ids, seqs = shown_post_ids(page), shown_seqs(page)
            assert seqs == sorted(set(seqs)), f"posts out of seq order or twice: {seqs}"
            assert len(set(ids)) == len(ids) == 5, ids  # Ann's, the quote, Bea's markup, Carl's, Bea's welcome
            assert shown_bodies(page)[-2:] == [missed, "Welcome back"]
        expect(ann.locator("#posts li.post-error")).to_have_count(1)
        shot(ann, "caught-up", site.mode)

        assert_no_problems(ann, bob)
    finally:
        for page in (ann, bob):
            page.context.close()


def room_with_ann_and_bea(site, prefix, name):
    """A room of this mode's own, and Ann and Bea (with passwords, to log in) to read it."""
    room = create_room(room_id=f"{prefix}-{site.mode.replace('_', '-')}", name=name)
    return room, *(sign_up(username=new_username(who), password=PASSWORD) for who in ("ann", "bea"))


def assert_no_problems(*pages):
    """No dialog, page error, console error or failed request on any of the pages."""
    for page in pages:
        assert page.dialogs == [], page.dialogs
        assert page.problems == [], page.problems


def test_posts_missed_while_offline_appear_once_in_order_on_reconnect(site):
    from playwright.sync_api import expect

    room, ann_user, bea_user = room_with_ann_and_bea(site, "night", "Night shift")
    web = site.start_web(label="offline-web")
    room_path = f"/rooms/{room.pk}/"
    before = "Evening, all"
    missed = ["Missed one: the market opened", "Missed two: Apple is up", "Missed three: and down again"]

    # Bea reaches the same web process as Ann, through a link of her own that can drop.
    link = CuttableLink(web.port).start()

    with chromium() as browser:
        ann = log_in(browser, web.url, ann_user, room_path, {"width": 900, "height": 760})
        bea = None
        try:
            connected(ann)
            send(ann, before)
            expect(ann.locator("#posts li.post .body")).to_have_text([before])
            # Bea opens the room after it: the server renders that post, and her page resumes from it.
            bea = log_in(browser, link.url, bea_user, room_path, {"width": 390, "height": 760})
            connected(bea)
            expect(bea.locator("#posts li.post .body")).to_have_text([before])
            assert shown_seqs(bea) == shown_seqs(ann)

            # Bea's network drops: her live connection goes (the page says so) and her
            # reconnection attempts fail, while Ann's connection stays up.
            link.cut()
            expect(bea.locator("#connection")).to_have_attribute("data-state", "reconnecting")
            expect(bea.locator("#connection")).to_contain_text("Reconnecting")

            # Ann posts three times, each seen on her page before the next (so seq order is send order).
            for body in missed:
                send(ann, body)
                expect(post_locator(ann, body)).to_have_count(1)
            expect(ann.locator("#posts li.post .body")).to_have_text([before, *missed])
            # Bea, offline, has seen none of them.
            expect(bea.locator("#posts li.post .body")).to_have_text([before])
            expect(bea.locator("#connection")).to_have_attribute("data-state", "reconnecting")

            # Her network comes back: the page reconnects and shows all three, once each, in order.
            link.restore()
            connected(bea)
            expect(bea.locator("#posts li.post .body")).to_have_text([before, *missed])
            bea.wait_for_timeout(1000)  # a late duplicate would show up by now
            assert shown_bodies(bea) == [before, *missed]
            seqs = shown_seqs(bea)
            assert seqs == sorted(set(seqs)), f"DOM order is not seq order: {seqs}"
            assert seqs == shown_seqs(ann), "positions differ between readers"
            shot(bea, "caught-up-after-offline", site.mode)

            assert_no_problems(ann, bea)
        finally:
            for page in (ann, bea):
                if page is not None:
                    page.context.close()
            link.cut()


def test_too_far_behind_reloads_the_newest_history_and_goes_on_live(site):
    """Away longer than the server replays (STREAM_RESUME_MAX, 2 here): the resume is refused
    with TOO_FAR_BEHIND, and the page shows the newest history instead, then live posts."""
    from playwright.sync_api import expect

    room, ann_user, bea_user = room_with_ann_and_bea(site, "away", "Long weekend")
    site.env = {**site.env, "STREAM_RESUME_MAX": "2"}
    web = site.start_web(label="far-behind-web")
    room_path = f"/rooms/{room.pk}/"
    before = "See you on Monday"
    missed = [f"Weekend post {n}" for n in range(1, 5)]
    link = CuttableLink(web.port).start()

    with chromium() as browser:
        ann = log_in(browser, web.url, ann_user, room_path, {"width": 900, "height": 760})
        bea = log_in(browser, link.url, bea_user, room_path, {"width": 390, "height": 760})
        try:
            for page in (ann, bea):
                connected(page)
            send(ann, before)
            expect(bea.locator("#posts li.post .body")).to_have_text([before])

            link.cut()
            expect(bea.locator("#connection")).to_have_attribute("data-state", "reconnecting")
            for body in missed:
                send(ann, body)
                expect(post_locator(ann, body)).to_have_count(1)

            link.restore()
            connected(bea)
            expect(bea.locator("#posts li.post .body")).to_have_text([before, *missed])
            # Subscribed again from the newest post: what comes next arrives live, once.
            send(ann, "Back to work")
            expect(bea.locator("#posts li.post .body")).to_have_text([before, *missed, "Back to work"])
            expect(bea.locator("#connection")).to_have_text("Live")
            seqs = shown_seqs(bea)
            assert seqs == sorted(set(seqs)) == shown_seqs(ann), seqs
            send(bea, "Morning")  # the page is still usable for sending
            expect(post_locator(ann, "Morning")).to_have_count(1)

            assert_no_problems(ann, bea)
        finally:
            for page in (ann, bea):
                page.context.close()
            link.cut()

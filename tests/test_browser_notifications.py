"""Notifications, the tab's unread count and muting, in Debian's Chromium, embedded and on
the full stack.

Bea has granted notifications (through the browser context); an init script records every
`new Notification(...)` the page makes, and lets the test hide and show the tab (headless
Chromium keeps every tab visible). While Bea's tab is hidden, Ann's posts count in its
title; a mention of Bea, or a direct message, raises a notification; once Bea mutes the room
it raises none and its count on the room list is grey. The browser is asked for permission
only after a click on "Turn on notifications", and only once.
"""
import uuid

import pytest

from accounts.services import issue_tokens, sign_up
from rooms.services import create_room, open_direct_room
from tests.browser import WAIT_MS, chromium, connected, new_page
from tests.clients import PASSWORD, POSTS, OverHttp, data, new_username
from tests.helpers import posted

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1000, "height": 800}

RECORD = """
window.__notes = [];
window.__asked = 0;
if (window.Notification) {
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) {
      window.__notes.push({ title: title, body: options && options.body, tag: options && options.tag });
      super(title, options);
    }
  };
  const ask = Real.requestPermission.bind(Real);
  window.Notification.requestPermission = () => { window.__asked += 1; return ask(); };
}
let hidden = false;
Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (hidden ? "hidden" : "visible") });
Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
window.__setHidden = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
"""

ROOMS = "query { rooms { id muted } }"


@pytest.fixture(params=["embedded", pytest.param("full_stack", marks=pytest.mark.fullstack)])
def web(request, transactional_db, general, stack_env):
    if request.param == "embedded":
        return request.getfixturevalue("web_of_its_own")
    return request.getfixturevalue("full_stack").web1


# Headless Chromium answers "denied" for a site never asked; a person's browser says
# "default" (not asked yet) until they answer, as this makes it.
NEVER_ASKED = 'Object.defineProperty(window.Notification, "permission", { configurable: true, get: () => "default" });'


def page_of(browser, web, user, path, grant):
    context = browser.new_context(
        base_url=web.url, viewport=VIEWPORT, permissions=["notifications"] if grant else []
    )
    context.add_init_script(RECORD if grant else RECORD + NEVER_ASKED)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.goto(f"/login/?next={path}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"**{path}")
    return page


def notes(page):
    return page.evaluate("() => window.__notes")


def hide(page, hidden=True):
    page.evaluate("(value) => window.__setHidden(value)", hidden)


def wait_title(page, title):
    page.wait_for_function("(title) => document.title === title", arg=title)


def test_mentions_and_direct_messages_notify_a_hidden_tab_unless_muted(web):
    from playwright.sync_api import expect

    ann = sign_up(username=new_username("ann"), password=PASSWORD)
    bea = sign_up(username=new_username("bea"), password=PASSWORD)
    ann_token, bea_token = issue_tokens(ann)["access_token"], issue_tokens(bea)["access_token"]
    direct = open_direct_room(user=ann, username=bea.username)
    # A room of its own: the full stack's web processes outlive each test's database.
    room_id = f"news-{uuid.uuid4().hex[:8]}"
    create_room(room_id=room_id, name="Newsroom")
    api = OverHttp(web.url)
    with chromium() as browser:
        room = page_of(browser, web, bea, f"/rooms/{room_id}/", grant=True)
        connected(room)
        expect(room.locator("#notify-button")).to_be_hidden(timeout=WAIT_MS)  # already granted: nothing to ask
        expect(room.locator("#mute-button")).to_have_attribute("aria-pressed", "false", timeout=WAIT_MS)
        assert room.title() == "Newsroom · Chat"

        # Hidden: each post by someone else counts in the title; a mention of Bea notifies.
        hide(room)
        posted(api, ann_token, "plain hello", room=room_id)
        wait_title(room, "(1) Newsroom · Chat")
        posted(api, ann_token, f"@{bea.username} look here", room=room_id)
        wait_title(room, "(2) Newsroom · Chat")
        assert notes(room) == [
            {"title": f"{ann.username} in Newsroom", "body": f"@{bea.username} look here", "tag": notes(room)[0]["tag"]}
        ]
        posted(api, bea_token, f"my own @{bea.username}", room=room_id)  # Bea's own post, from elsewhere
        try:
            expect(room.locator("#posts li.post", has_text="my own")).to_have_count(1, timeout=WAIT_MS)
        except AssertionError:
            stored = [p["body"] for p in data(api(POSTS, {"input": {"roomId": room_id}}, token=bea_token), "posts")]
            shown = room.locator("#posts li.post .body").all_inner_texts()
            raise AssertionError(f"stored {stored}, shown {shown}, state {room.inner_text('#connection')}, problems {room.problems}")
        assert room.title() == "(2) Newsroom · Chat" and len(notes(room)) == 1
        # Seen again: the count goes.
        hide(room, False)
        wait_title(room, "Newsroom · Chat")

        # Muted: counted, but no notification.
        room.click("#mute-button")
        expect(room.locator("#mute-button")).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
        expect(room.locator("#mute-button")).to_have_text("Unmute", timeout=WAIT_MS)
        assert {r["id"]: r["muted"] for r in data(api(ROOMS, token=bea_token), "rooms")}[room_id] is True
        hide(room)
        posted(api, ann_token, f"@{bea.username} are you there?", room=room_id)
        wait_title(room, "(1) Newsroom · Chat")
        assert len(notes(room)) == 1

        # The room list: the muted room's count is grey; the title counts the rooms not muted.
        listing = page_of(browser, web, bea, "/", grant=True)
        listing.wait_for_selector("body[data-live=connected]", state="attached")
        listed = listing.locator(f'li[data-room-id="{room_id}"]')
        expect(listed.locator(".unread")).to_have_class("unread unread--muted", timeout=WAIT_MS)
        expect(listed.locator(".badge--muted")).to_be_visible(timeout=WAIT_MS)
        assert listing.title() == "Rooms · Chat"
        hide(listing)
        posted(api, ann_token, f"@{bea.username} once more", room=room_id)
        posted(api, ann_token, "psst", room=direct.pk)
        wait_title(listing, "(1) Rooms · Chat")
        listing.wait_for_function("() => window.__notes.length === 1")
        [note] = notes(listing)
        assert (note["title"], note["body"]) == (f"{ann.username} (direct message)", "psst")

        # Unmuted in the room's tab: the list hears of it; its count is counted, and red.
        room.click("#mute-button")
        expect(room.locator("#mute-button")).to_have_attribute("aria-pressed", "false", timeout=WAIT_MS)
        expect(listed.locator(".unread")).to_have_class("unread unread--mention", timeout=WAIT_MS)
        expect(listed.locator(".badge--muted")).to_be_hidden(timeout=WAIT_MS)
        listing.wait_for_function("() => /^\\(\\d+\\) Rooms · Chat$/.test(document.title) && document.title !== '(1) Rooms · Chat'")
        posted(api, ann_token, f"@{bea.username} back?", room=room_id)
        listing.wait_for_function("() => window.__notes.length === 2")
        assert notes(listing)[1]["title"] == f"{ann.username} in Newsroom"

        for page in (room, listing):
            assert not page.problems, page.problems


def test_the_browser_is_asked_once_and_only_after_a_click(web):
    from playwright.sync_api import expect

    bea = sign_up(username=new_username("bea"), password=PASSWORD)
    with chromium() as browser:
        room = page_of(browser, web, bea, "/rooms/general/", grant=False)
        connected(room)
        assert room.evaluate("() => Notification.permission") == "default"
        button = room.locator("#notify-button")
        expect(button).to_be_visible(timeout=WAIT_MS)
        room.click("h1")  # a click elsewhere asks nothing
        assert room.evaluate("() => window.__asked") == 0, "never without the button's click"
        button.click()
        expect(button).to_be_hidden(timeout=WAIT_MS)
        assert room.evaluate("() => window.__asked") == 1
        room.reload()
        connected(room)
        expect(button).to_be_hidden(timeout=WAIT_MS)  # asked once: not again, whatever was answered
        room.goto("/")
        expect(room.locator("#notify-button")).to_be_hidden(timeout=WAIT_MS)
        assert room.evaluate("() => window.__asked") == 0

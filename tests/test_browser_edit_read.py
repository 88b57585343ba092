"""Typing, edit, delete and unread counts in Debian's Chromium: two people, one embedded web
process.

Bea sees "Ann is typing…" until Ann's post arrives; Ann edits a post and Bea sees the new text with "(edited)"; Ann deletes it and it leaves
Bea's page; Bea's unread count on the room list rises while Ann posts and clears once Bea
has read the room.
"""
import pytest

from accounts.services import sign_up
from tests.browser import WAIT_MS, chromium, send
from tests.clients import PASSWORD, new_username
from tests.stack import ARTIFACTS

pytestmark = pytest.mark.browser


@pytest.fixture
def web(web_of_its_own, general):
    return web_of_its_own


def logged_in(browser, web, username, path):
    context = browser.new_context(base_url=web.url, viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("response", lambda response: response.status >= 400 and page.problems.append(f"{response.status} {response.url}"))
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete this post for everyone?"
    page.goto(f"/login/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"**{path}")
    return page


def post(page, body):
    return page.locator("#posts li.post", has=page.locator(".body", has_text=body))


def test_ann_edits_and_deletes_bea_sees_it_and_bea_reads_her_unread_count_down(web):
    ann, bea = new_username("ann"), new_username("bea")
    for name in (ann, bea):
        sign_up(username=name, password=PASSWORD)
    with chromium() as browser:
        ann_page = logged_in(browser, web, ann, "/rooms/general/")
        bea_page = logged_in(browser, web, bea, "/rooms/general/")
        for page in (ann_page, bea_page):
            page.wait_for_selector("#connection[data-state=connected]")

        # Ann types: Bea sees it, and it goes when Ann's post arrives.
        ann_page.fill("#post-body", "helo")
        ann_page.type("#post-body", " evr")
        bea_page.wait_for_function(f"() => document.getElementById('typing').textContent === '{ann} is typing…'")
        assert ann_page.inner_text("#typing") == "", "not shown to the typist"
        ann_page.type("#post-body", "yone")
        ann_page.press("#post-body", "Enter")
        bea_page.wait_for_function("() => document.getElementById('typing').textContent === ''")

        post(bea_page, "helo evryone").wait_for()
        mine = post(ann_page, "helo evryone")
        mine.hover()
        mine.locator(".post-edit").click()
        ann_page.fill(".post-editor-text", "hello everyone")
        ann_page.press(".post-editor-text", "Enter")
        edited = post(bea_page, "hello everyone")
        edited.wait_for()
        assert edited.locator(".edited").inner_text() == "(edited)"
        assert bea_page.locator("#posts li.post .body", has_text="helo evryone").count() == 0
        assert post(bea_page, "hello everyone").locator(".post-edit").count() == 0, "not Bea's to edit"
        ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
        bea_page.screenshot(path=str(ARTIFACTS / "screenshots" / "edited-embedded.png"))

        mine = post(ann_page, "hello everyone")
        mine.hover()
        mine.locator(".post-delete").click()
        post(bea_page, "hello everyone").wait_for(state="detached")
        post(ann_page, "hello everyone").wait_for(state="detached")

        # Bea goes to the room list; Ann posts twice (once naming her): the count rises live.
        bea_page.goto("/")
        badge = bea_page.locator('li[data-room-id="general"] .unread')
        try:
            bea_page.wait_for_selector("body[data-live=connected]", state="attached")
        except Exception:
            raise AssertionError(f"the room list never went live: {bea_page.problems}") from None
        send(ann_page, "are you there?")
        post(ann_page, "are you there?").wait_for()  # one send at a time, as a person would
        send(ann_page, f"@{bea} look")
        try:
            bea_page.wait_for_function(
                "() => { const b = document.querySelector('li[data-room-id=\"general\"] .unread');"
                " return b && !b.hidden && b.textContent.trim() === '2'; }"
            )
        except Exception:
            shown = bea_page.evaluate(
                "() => { const li = document.querySelector('li[data-room-id=\"general\"]');"
                " return [li.outerHTML, document.body.dataset.live]; }"
            )
            raise AssertionError(f"the count never reached 2: {shown}") from None
        assert "unread--mention" in badge.get_attribute("class")
        # Reading the room clears it, in this tab and on the list in another.
        other_tab = bea_page.context.new_page()
        other_tab.goto("/rooms/general/")
        post(other_tab, "look").wait_for()
        bea_page.wait_for_function(
            "() => { const b = document.querySelector('li[data-room-id=\"general\"] .unread');"
            " return !b || b.hidden; }"
        )
        assert not ann_page.problems and not bea_page.problems, ann_page.problems + bea_page.problems

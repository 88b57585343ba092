"""Private rooms and direct messages in Debian's Chromium, against a started embedded `web`
process: A makes a private room and adds B; B finds it and posts; C neither sees it nor
reaches it; A opens a direct message with B from B's name on a post.
"""
import pytest

from accounts.services import sign_up
from tests.browser import chromium, connected, new_page, send, shot
from tests.clients import PASSWORD, new_username

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 900, "height": 760}


@pytest.fixture
def web(web_of_its_own, general):
    return web_of_its_own


def logged_in(browser, base_url, user):
    page = new_page(browser, base_url, VIEWPORT)
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_selector("h1:text('Rooms')")
    return page


def listed_rooms(page):
    return page.locator("ul.rooms li .room-name").all_inner_texts()


def test_a_private_room_and_a_direct_message_between_two_people(web):
    from playwright.sync_api import expect

    ann = sign_up(username=new_username("ann"), password=PASSWORD)
    ben = sign_up(username=new_username("ben"), password=PASSWORD)
    cat = sign_up(username=new_username("cat"), password=PASSWORD)

    with chromium() as browser:
        a = logged_in(browser, web.url, ann)
        b = logged_in(browser, web.url, ben)
        c = logged_in(browser, web.url, cat)
        try:
            # Ann creates a private room and adds Ben from its page.
            a.fill("#id_name", "War room")
            a.fill("#id_room_id", "war-room")
            a.check("#id_private")
            a.click("button:text('Create room')")
            a.wait_for_url("**/rooms/war-room/")
            connected(a)
            expect(a.locator("#room-members")).to_contain_text(f"Private room: {ann.username}")
            a.fill("#add-member-form input[name=username]", ben.username)
            a.click("#add-member-form button")
            a.wait_for_url("**/rooms/war-room/")
            expect(a.locator(".flash")).to_have_text(f"{ben.username} is a member now.")
            expect(a.locator("#room-members")).to_contain_text(f"{ann.username}, {ben.username}")
            connected(a)

            # Ben sees it in his list, with the lock, and posts in it.
            b.reload()
            assert "War room" in listed_rooms(b)
            expect(b.locator("ul.rooms li", has_text="War room").locator(".lock")).to_be_visible()
            b.click("ul.rooms a:has-text('War room')")
            b.wait_for_url("**/rooms/war-room/")
            connected(b)
            expect(b.locator("#add-member-form")).to_have_count(0)
            send(b, "Ben here, in private")
            expect(b.locator("#posts li.post .body").last).to_have_text("Ben here, in private")

            # Cat doesn't see it, and its address is a 404 like no room at all.
            c.reload()
            assert "War room" not in listed_rooms(c)
            assert "General" in listed_rooms(c)
            assert c.goto(f"{web.url}/rooms/war-room/").status == 404
            assert c.goto(f"{web.url}/rooms/no-such-room/").status == 404

            # Ann got Ben's post live; his name on it opens their direct message.
            ben_post = a.locator("#posts li.post", has_text="Ben here, in private")
            expect(ben_post).to_be_visible()
            shot(a, "private-room", "embedded")
            ben_name = ben_post.locator(".author a")
            expect(ben_name).to_have_text(ben.username)
            ben_name.click()
            a.wait_for_url(f"**/dm/{ben.username}/")
            a.click(f"button:text('Message {ben.username}')")
            a.wait_for_url("**/rooms/dm-*/")
            dm_path = a.url[len(web.url):]
            connected(a)
            expect(a.locator("#room-members")).to_contain_text("Direct message")
            send(a, "Just us two")
            expect(a.locator("#posts li.post .body").last).to_have_text("Just us two")

            # Ben finds it in his list as "Direct: ann", and the same room from his side.
            b.goto(f"{web.url}/")
            expect(b.locator("ul.rooms .room-name", has_text=f"Direct: {ann.username}")).to_be_visible()
            shot(b, "room-list-private", "embedded")
            b.goto(f"{web.url}/dm/{ann.username}/")
            b.wait_for_url(f"**{dm_path}")
            expect(b.locator("#posts li.post .body").last).to_have_text("Just us two")
            shot(b, "direct-message", "embedded")

            # Cat: not in the list, a 404 at its address.
            c.goto(f"{web.url}/")
            assert not [name for name in listed_rooms(c) if name.startswith("Direct:")]
            assert c.goto(f"{web.url}{dm_path}").status == 404

            for page in (a, b, c):
                assert page.dialogs == [], page.dialogs
                assert page.problems == [], page.problems
        finally:
            for page in (a, b, c):
                page.context.close()

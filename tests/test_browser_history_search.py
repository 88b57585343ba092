"""The room page in Debian's Chromium: older history as the reader scrolls up, and search.

One embedded `web` process per test on the test database (SQLite, or PostgreSQL when
DATABASE_URL says so: the search then runs as full-text search).
"""
import json
from contextlib import contextmanager

import pytest

from accounts.services import sign_up
from rooms.services import create_room
from tests.browser import chromium, connected, log_in, send, shot, shown_bodies, shown_post_ids, shown_seqs
from tests.clients import PASSWORD, new_username
from tests.helpers import add_post

pytestmark = pytest.mark.browser

ROOM_POSTS = 120
HISTORY_PAGE = 50
# How far the post the reader looked at may move when older posts go above it.
POSITION_TOLERANCE_PX = 3


@pytest.fixture
def web(web_of_its_own):
    return web_of_its_own


def body_of(n):
    # Some posts span lines, so pages are not all of one height.
    return f"Post {n}" + ("\nwith a second line" if n % 7 == 0 else "")


def record_history_pages(page):
    """The `before` of every `posts` page the page asks for, in order."""
    page.history_pages = []

    def on_request(request):
        if request.method != "POST" or not request.url.endswith("/graphql/"):
            return
        try:
            body = json.loads(request.post_data or "")
        except ValueError:
            return
        if "posts(" in body.get("query", ""):
            page.history_pages.append(body["variables"]["input"].get("before"))

    page.on("request", on_request)


@contextmanager
def reading(web, reader, room, width=900):
    """Chromium with `reader` logged in on the room's page, connected, the history pages it
    asks for recorded; closed after the block."""
    with chromium() as browser:
        page = log_in(browser, web.url, reader, f"/rooms/{room.pk}/", {"width": width, "height": 760})
        record_history_pages(page)
        try:
            connected(page)
            yield page
        finally:
            page.context.close()


def scroll_to_top(page):
    """Scroll the posts to the very top (scrolling on while a page loads, as a reader would),
    and say where the top-most post is on screen just then."""
    return page.evaluate(
        """() => {
            const scroller = document.getElementById("scroller");
            const first = document.querySelector("#posts li.post");
            scroller.scrollTop = 0;
            for (let i = 0; i < 5; i++) scroller.dispatchEvent(new Event("scroll"));
            return { id: first.dataset.postId, top: first.getBoundingClientRect().top };
        }"""
    )


def top_of(page, post_id):
    return page.eval_on_selector(f"#posts li.post[data-post-id='{post_id}']", "item => item.getBoundingClientRect().top")


def test_scrolling_up_loads_older_posts_until_the_beginning_keeping_the_place(web):
    from playwright.sync_api import expect

    room = create_room(room_id="archive", name="The archive")
    for n in range(1, ROOM_POSTS + 1):
        add_post(room, body_of(n), author="historian")
    reader = sign_up(username=new_username("reader"), password=PASSWORD)

    with reading(web, reader, room) as page:
        # The newest page, scrolled to the newest post; the room's beginning is not shown.
        assert shown_seqs(page) == list(range(ROOM_POSTS - HISTORY_PAGE + 1, ROOM_POSTS + 1))
        expect(page.locator("#history-start")).to_be_hidden()
        assert page.eval_on_selector("#scroller", "s => s.scrollTop > 0")

        loaded = len(shown_seqs(page))
        while loaded < ROOM_POSTS:
            anchor = scroll_to_top(page)
            page.wait_for_function("n => document.querySelectorAll('#posts li.post').length > n", arg=loaded)
            loaded = len(shown_seqs(page))
            # The post that was at the top is still where it was: the older ones went above it.
            moved = top_of(page, anchor["id"]) - anchor["top"]
            assert abs(moved) <= POSITION_TOLERANCE_PX, f"the post in view moved by {moved}px after older posts came"
            assert page.eval_on_selector("#scroller", "s => s.scrollTop > 0")

        expect(page.locator("#history-start")).to_be_visible()
        expect(page.locator("#history-start")).to_have_text("Beginning of the room")
        expect(page.locator("#history-loading")).to_be_hidden()
        assert shown_seqs(page) == list(range(1, ROOM_POSTS + 1)), "every post once, in seq order"
        ids = shown_post_ids(page)
        assert len(ids) == len(set(ids)) == ROOM_POSTS
        assert shown_bodies(page)[0] == body_of(1)

        # One request per page, however often the reader scrolled while it loaded.
        assert page.history_pages == [ROOM_POSTS - HISTORY_PAGE + 1, ROOM_POSTS - 2 * HISTORY_PAGE + 1], page.history_pages

        # At the beginning, scrolling to the top asks for nothing more.
        scroll_to_top(page)
        page.wait_for_timeout(500)
        assert len(page.history_pages) == 2, page.history_pages
        shot(page, "history-beginning", "embedded")

        # A new post still arrives at the bottom.
        send(page, "A new one, live")
        expect(page.locator("#posts li.post .body").last).to_have_text("A new one, live")
        assert shown_seqs(page) == list(range(1, ROOM_POSTS + 2))

        assert page.dialogs == [], page.dialogs
        assert page.problems == [], page.problems


def test_a_page_that_fails_to_load_says_why_and_can_be_tried_again(web):
    from playwright.sync_api import expect

    room = create_room(room_id="flaky", name="Flaky")
    for n in range(1, HISTORY_PAGE + 11):
        add_post(room, body_of(n))
    reader = sign_up(username=new_username("reader"), password=PASSWORD)

    with reading(web, reader, room) as page:
        page.route("**/graphql/", lambda route: route.abort() if "before" in (route.request.post_data or "") else route.continue_())
        scroll_to_top(page)
        expect(page.locator("#history-error")).to_be_visible()
        expect(page.locator("#history-error")).to_contain_text("Could not load older posts: Could not reach the chat")
        # No retrying on its own while the network fails: only when asked.
        scroll_to_top(page)
        page.wait_for_timeout(500)
        assert page.history_pages == [11], page.history_pages

        page.unroute("**/graphql/")
        page.click("#history-retry")
        expect(page.locator("#history-start")).to_be_visible()
        expect(page.locator("#history-error")).to_be_hidden()
        assert shown_seqs(page) == list(range(1, HISTORY_PAGE + 11))
        assert page.history_pages == [11, 11], page.history_pages
        assert page.problems == [], page.problems


def test_a_short_room_shows_its_beginning_at_once(web):
    from playwright.sync_api import expect

    room = create_room(room_id="short", name="Short")
    for n in range(1, 4):
        add_post(room, body_of(n))
    empty = create_room(room_id="empty", name="Empty")
    reader = sign_up(username=new_username("reader"), password=PASSWORD)

    with reading(web, reader, room) as page:
        expect(page.locator("#history-start")).to_be_visible()
        assert shown_seqs(page) == [1, 2, 3]
        assert page.history_pages == []  # fewer than a page: nothing older to ask for

        page.goto(f"/rooms/{empty.pk}/")
        connected(page)
        expect(page.locator("#no-posts")).to_be_visible()
        expect(page.locator("#history-start")).to_be_hidden()
        assert page.history_pages == []
        assert page.problems == [], page.problems


def test_search_from_the_room_page_finds_posts_by_their_words(web):
    from playwright.sync_api import expect

    room = create_room(room_id="office", name="Office")
    other = create_room(room_id="elsewhere", name="Elsewhere")
    add_post(room, "The quarterly report is ready for review", author="dana")
    for n in range(30):
        add_post(room, f"Chatter {n}", author="eli")
    add_post(room, "<img src=x onerror=alert(1)> report draft", author="mallory")
    add_post(other, "Another quarterly review, in another room", author="fay")
    reader = sign_up(username=new_username("reader"), password=PASSWORD)

    with reading(web, reader, room, width=390) as page:
        results = page.locator("#search-list li.post")
        expect(page.locator("#search-results")).to_be_hidden()

        # Two of its words, in another order and case: found, and shown with its author and time.
        page.fill("#search-query", "REVIEW quarterly")
        page.press("#search-query", "Enter")
        expect(page.locator("#search-results")).to_be_visible()
        expect(results).to_have_count(1)
        expect(results.locator(".body")).to_have_text("The quarterly report is ready for review")
        expect(results.locator(".author")).to_have_text("dana")
        expect(results.locator("time")).not_to_have_text("")
        expect(page.locator("#search-status")).to_have_text("1 post found, newest first.")
        shot(page, "search-found", "embedded")

        # Two posts share a word: newest first. Markup found stays text.
        page.fill("#search-query", "report")
        page.click("#search-form button[type=submit]")
        expect(results.locator(".body")).to_have_text(
            ["<img src=x onerror=alert(1)> report draft", "The quarterly report is ready for review"]
        )
        expect(page.locator("#search-results img")).to_have_count(0)

        # A miss says so.
        page.fill("#search-query", "quarterly bananas")
        page.press("#search-query", "Enter")
        expect(page.locator("#search-status")).to_have_text("No posts found for \u201cquarterly bananas\u201d.")
        expect(results).to_have_count(0)
        expect(page.locator("#search-results")).to_have_attribute("data-state", "none")

        # A refused search shows the server's reason.
        page.fill("#search-query", "a b c d e f g h i j k")
        page.press("#search-query", "Enter")
        expect(page.locator("#search-status")).to_have_text("A search can have at most 10 words.")
        expect(page.locator("#search-results")).to_have_attribute("data-state", "error")

        # Closed with its button, or with Escape; the room's own posts were never touched.
        page.click("#search-close")
        expect(page.locator("#search-results")).to_be_hidden()
        page.fill("#search-query", "chatter")
        page.press("#search-query", "Enter")
        expect(results).to_have_count(20)
        expect(page.locator("#search-status")).to_contain_text("The newest 20 posts found")
        page.press("#search-query", "Escape")
        expect(page.locator("#search-results")).to_be_hidden()
        expect(page.locator("#posts li.post")).to_have_count(32)

        assert page.dialogs == [], page.dialogs
        assert page.problems == [], page.problems

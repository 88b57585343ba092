"""Replies, the thread panel and reactions in Debian's Chromium: Ann and Bea in one room, on
the embedded mode and on the full stack (the Procfile's worker counts the replies).

Bea replies to Ann's question from the room; the reply shows what it answers and the question
shows its reply count; Ann follows the thread in the side panel as Bea answers there. They
react, see each other's counts and who reacted on hover, and take a reaction back. Bea's
network drops while Ann replies, reacts and deletes the question: on reconnect Bea's page
resumes `after` the last position it saw and shows all of it, the same as Ann's.
"""
import pytest

from accounts.services import sign_up
from rooms.services import create_room
from tests.browser import CuttableLink, chromium, connected, log_in, send, shot
from tests.clients import PASSWORD, new_username
from tests.stack import Web, embedded_env

pytestmark = pytest.mark.browser

QUESTION = "Lunch plans?\nnoodles or pizza, I don't mind"


@pytest.fixture(params=["embedded", pytest.param("full_stack", marks=pytest.mark.fullstack)])
def web(request, transactional_db, stack_env):
    """A web process of the test's own: embedded, or beside the started full stack's worker."""
    env = embedded_env(stack_env) if request.param == "embedded" else request.getfixturevalue("full_stack").env
    process = Web(env, label=f"threads-{request.param}").start()
    process.mode = request.param
    try:
        yield process.wait_ready()
    finally:
        process.stop()


def post(page, body, where="#posts"):
    return page.locator(f"{where} li.post", has=page.locator(".body", has_text=body))


def assert_no_problems(*pages):
    for page in pages:
        assert page.dialogs == [] and page.problems == [], (page.dialogs, page.problems)


def test_replies_threads_and_reactions_live_and_after_a_reconnect(web):
    from playwright.sync_api import expect

    room = create_room(room_id=new_username("lunch"), name="Lunch")
    ann_user, bea_user = (sign_up(username=new_username(who), password=PASSWORD) for who in ("ann", "bea"))
    path = f"/rooms/{room.pk}/"
    link = CuttableLink(web.port).start()
    with chromium() as browser:
        ann = log_in(browser, web.url, ann_user, path, {"width": 1280, "height": 800})
        bea = log_in(browser, link.url, bea_user, path, {"width": 420, "height": 800})
        ann.evaluate("window.confirm = () => true")  # "Delete this post for everyone?": yes
        try:
            for page in (ann, bea):
                connected(page)
            send(ann, "Morning")
            post(ann, "Morning").wait_for()
            ann.fill("#post-body", QUESTION)
            ann.press("#post-body", "Enter")
            question = post(bea, "Lunch plans?")
            question.wait_for()

            # Bea answers from the room: the panel opens on the question, and her answer shows
            # in the room too, with what it answers; the question counts its reply.
            question.hover()
            question.locator(".post-reply").click()
            expect(bea.locator("#thread-panel")).to_be_visible()
            expect(bea.locator("#thread-posts li.post .body")).to_have_text([QUESTION])
            expect(bea.locator("#thread-replying")).to_have_text(f"Replying to {ann_user.username}")
            bea.fill("#thread-body", "noodles!")
            bea.press("#thread-body", "Enter")
            expect(bea.locator("#thread-posts li.post .body")).to_have_text([QUESTION, "noodles!"])
            for page in (ann, bea):
                answer = post(page, "noodles!")
                expect(answer.locator(".reply-preview")).to_have_text(f"↪ {ann_user.username} Lunch plans?")
                expect(post(page, "Lunch plans?").locator(".thread-link")).to_contain_text("1 reply · last ")
            assert bea.locator("#thread-body").input_value() == "", "sent: the box is empty again"

            # Ann opens the thread from the count and follows it live as Bea answers there.
            post(ann, "Lunch plans?").locator(".thread-link").click()
            expect(ann.locator("#thread-posts li.post .body")).to_have_text([QUESTION, "noodles!"])
            bea.fill("#thread-body", "see you at one")
            bea.press("#thread-body", "Enter")
            expect(ann.locator("#thread-posts li.post .body")).to_have_text([QUESTION, "noodles!", "see you at one"])
            expect(post(ann, "Lunch plans?").locator(".thread-link")).to_contain_text("2 replies")
            expect(post(ann, "Morning", "#thread-posts")).to_have_count(0)

            # Reactions: Ann picks one, Bea sees it and who it is from, adds hers, takes it back.
            answer = post(ann, "noodles!")
            answer.hover()
            answer.locator(".post-react").click()
            ann.locator(".reaction-picker .reaction-option", has_text="🎉").click()
            chip = post(bea, "noodles!").locator('.reaction[data-emoji="🎉"]')
            expect(chip).to_have_text("🎉1")
            expect(chip).to_have_attribute("title", ann_user.username)
            expect(chip).to_have_attribute("aria-pressed", "false")
            # On Bea's narrow screen the panel covers the room: she reacts in the panel.
            in_panel = post(bea, "noodles!", "#thread-posts").locator('.reaction[data-emoji="🎉"]')
            in_panel.click()
            expect(chip).to_have_text("🎉2")
            expect(in_panel).to_have_text("🎉2")
            expect(chip).to_have_attribute("aria-pressed", "true")
            ann_chip = post(ann, "noodles!").locator('.reaction[data-emoji="🎉"]')
            expect(ann_chip).to_have_attribute("title", f"{ann_user.username}, {bea_user.username}")
            expect(post(ann, "noodles!", "#thread-posts").locator('.reaction[data-emoji="🎉"]')).to_have_text("🎉2")
            in_panel.click()
            expect(ann_chip).to_have_text("🎉1")
            shot(ann, "thread-panel", web.mode)

            # Bea's network drops; meanwhile Ann replies, reacts and deletes the question.
            link.cut()
            expect(bea.locator("#connection")).to_have_attribute("data-state", "reconnecting")
            ann.fill("#thread-body", "one it is")
            ann.press("#thread-body", "Enter")
            expect(ann.locator("#thread-posts li.post .body")).to_have_text(
                [QUESTION, "noodles!", "see you at one", "one it is"]
            )
            morning = post(ann, "Morning")
            morning.hover()
            morning.locator(".post-react").click()
            ann.locator(".reaction-picker .reaction-option", has_text="👍").click()
            expect(morning.locator('.reaction[data-emoji="👍"]')).to_have_text("👍1")
            root = post(ann, "Lunch plans?")
            root.hover()
            root.locator(".post-delete").click()
            root.wait_for(state="detached")
            expect(ann.locator("#thread-posts li.post").first.locator(".body")).to_have_text("This post was deleted.")
            expect(post(ann, "noodles!").locator(".reply-preview")).to_have_text("↪ a deleted post")
            expect(bea.locator("#posts li.post .body")).to_have_text(["Morning", QUESTION, "noodles!", "see you at one"])

            # Back online: Bea's page resumes after what it saw, across the reply, the reaction
            # and the deletion, and shows the room as Ann's shows it.
            link.restore()
            connected(bea)
            expect(bea.locator("#posts li.post .body")).to_have_text(["Morning", "noodles!", "see you at one", "one it is"])
            expect(post(bea, "noodles!").locator(".reply-preview")).to_have_text("↪ a deleted post")
            expect(post(bea, "Morning").locator('.reaction[data-emoji="👍"]')).to_have_attribute("title", ann_user.username)
            # Ann's reply answered the thread's root (the panel's default), deleted since.
            expect(post(bea, "one it is").locator(".reply-preview")).to_have_text("↪ a deleted post")
            # Bea's panel, still open, followed the thread through the same events.
            expect(bea.locator("#thread-posts li.post .body")).to_have_text(
                ["This post was deleted.", "noodles!", "see you at one", "one it is"]
            )
            for page in (ann, bea):
                shown = page.eval_on_selector_all(
                    "#posts li.post",
                    "items => items.map(item => [item.dataset.seq, item.querySelector('.body').textContent, "
                    "Array.from(item.querySelectorAll('.reaction'), r => r.getAttribute('aria-label')).join('|'), "
                    "(item.querySelector('.reply-preview') || {}).textContent || ''])",
                )
                page.shown = shown
            assert ann.shown == bea.shown

            # A reload draws the same from the server's page.
            bea.reload()
            connected(bea)
            expect(post(bea, "noodles!").locator(".reply-preview")).to_have_text("↪ a deleted post")
            expect(post(bea, "Morning").locator('.reaction[data-emoji="👍"]')).to_have_text("👍1")
            expect(post(bea, "noodles!").locator(".thread-link")).to_be_hidden()
            shot(bea, "thread-after-reconnect", web.mode)
            assert_no_problems(ann, bea)
        finally:
            for page in (ann, bea):
                page.context.close()
            link.cut()


@pytest.fixture
def embedded(transactional_db, stack_env):
    process = Web(embedded_env(stack_env), label="threads-paging").start()
    try:
        yield process.wait_ready()
    finally:
        process.stop()


def test_a_long_thread_opens_at_its_newest_replies_and_pages_back_to_its_root(embedded):
    from playwright.sync_api import expect

    from posts.models import Post
    from tests.helpers import add_post, add_posts

    room = create_room(room_id=new_username("long"), name="Long thread")
    reader = sign_up(username=new_username("cy"), password=PASSWORD)
    root = add_post(room, "the root of a long thread", author="ann")
    replies = add_posts(room, 60, "reply {n}", author="bea")
    Post.objects.filter(pk__in=[r.pk for r in replies]).update(thread=root, reply_to=root)
    Post.objects.filter(pk=root.pk).update(reply_count=60, last_reply_at=replies[-1].created_at)
    with chromium() as browser:
        page = log_in(browser, embedded.url, reader, f"/rooms/{room.pk}/", {"width": 1280, "height": 800})
        try:
            connected(page)
            panel = page.locator("#thread-posts li.post .body")
            page.locator("#posts li.post", has_text="reply 59").locator(".post-reply").click()
            expect(panel).to_have_count(50)
            expect(panel.first).to_have_text("reply 10")
            expect(page.locator("#thread-replying")).to_have_text("Replying to bea")
            page.click("#thread-older")
            expect(panel).to_have_count(61)
            expect(panel.first).to_have_text("the root of a long thread")
            expect(page.locator("#thread-older")).to_be_hidden()
            page.click("#thread-close")
            expect(page.locator("#thread-panel")).to_be_hidden()
            assert_no_problems(page)
        finally:
            page.context.close()

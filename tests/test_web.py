"""The browser pages, in-process: sign up, log in and out, rooms, a room's history, the CSP."""
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from accounts.services import sign_up
from posts.public_ids import public_post_id
from rooms.models import Room
from tests.clients import PASSWORD, new_username
from posts.search import SEARCH_LIMIT_DEFAULT, SEARCH_QUERY_MAX_LENGTH
from posts.selectors import HISTORY_MAX, UNREAD_COUNT_MAX
from tests.helpers import add_post, add_posts

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def member(db):
    return sign_up(username=new_username("member"), password=PASSWORD)


@pytest.fixture
def browser(client, member):
    client.force_login(member)
    return client


def csp(response):
    return dict(
        part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";") if part.strip()
    )


# ---- signing up, logging in and out ------------------------------------------------------


def test_logged_out_visitor_is_sent_to_the_login_page(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/?next=/")


def test_sign_up_creates_the_account_and_logs_in(client, db):
    username = new_username("newcomer")
    response = client.post("/signup/", {"username": username, "password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert get_user_model().objects.filter(username=username).exists()
    assert client.get("/").status_code == 200


def test_sign_up_applies_the_account_rules(client, db):
    response = client.post("/signup/", {"username": "a b", "password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 200
    assert "Usernames have 3 to 30 characters" in response.content.decode()
    response = client.post("/signup/", {"username": new_username(), "password": "123", "password_again": "123"})
    assert "too short" in response.content.decode()
    assert not get_user_model().objects.exists()


def test_sign_up_refuses_a_taken_username(client, member):
    response = client.post(
        "/signup/", {"username": member.username.upper(), "password": PASSWORD, "password_again": PASSWORD}
    )
    assert "That username is taken." in response.content.decode()


def test_sign_up_asks_for_the_same_password_twice(client, db):
    response = client.post("/signup/", {"username": new_username(), "password": PASSWORD, "password_again": PASSWORD + "!"})
    assert "The two passwords differ." in response.content.decode()
    assert not get_user_model().objects.exists()


def test_log_in_and_out(client, member):
    response = client.post("/login/", {"username": member.username, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/logout/").status_code == 200  # asks first
    response = client.post("/logout/")
    assert response.status_code == 302 and response.headers["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_log_in_follows_next(client, member, general):
    response = client.post("/login/?next=/rooms/general/", {"username": member.username, "password": PASSWORD, "next": "/rooms/general/"})
    assert response.headers["Location"] == "/rooms/general/"


def test_log_in_refuses_a_wrong_password_and_a_deactivated_user(client, member):
    response = client.post("/login/", {"username": member.username, "password": "wrong password here"})
    assert response.status_code == 200 and "Wrong username or password." in response.content.decode()
    member.is_active = False
    member.save()
    response = client.post("/login/", {"username": member.username, "password": PASSWORD})
    assert "This account has been deactivated." in response.content.decode()
    assert client.get("/").status_code == 302


# ---- the room list --------------------------------------------------------------------


def test_room_list_shows_the_rooms(browser, general):
    Room.objects.create(id="quiet", name="Quiet <corner>", locked=True)
    html = browser.get("/").content.decode()
    assert 'href="/rooms/general/"' in html and "General" in html
    assert "Quiet &lt;corner&gt;" in html and "locked" in html


def test_room_list_shows_a_capped_unread_count_as_more(browser, general):
    Room.objects.create(id="quiet", name="Quiet")
    add_posts("general", UNREAD_COUNT_MAX + 1, "news {n}")
    add_posts("quiet", 7, "news {n}")
    html = browser.get("/").content.decode()
    badges = dict(re.findall(r'data-room-id="([^"]+)".*?<span class="unread[^"]*"[^>]*>([^<]*)</span>', html, re.S))
    assert badges == {"general": f"{UNREAD_COUNT_MAX}+", "quiet": "7"}
    assert f'data-count-max="{UNREAD_COUNT_MAX}"' in html, "the page's script shows live counts the same way"


def test_create_room_form_creates_the_room_and_opens_it(browser, general):
    response = browser.post("/", {"name": "Stock talk", "room_id": ""})
    assert response.status_code == 302 and response.headers["Location"] == "/rooms/stock-talk/"
    assert Room.objects.get(pk="stock-talk").name == "Stock talk"
    response = browser.post("/", {"name": "Bonds", "room_id": "bonds-2"})
    assert response.headers["Location"] == "/rooms/bonds-2/"


def test_create_room_form_shows_why_not(browser, general):
    response = browser.post("/", {"name": "Another general", "room_id": "general"})
    assert response.status_code == 400
    assert "The room id &#x27;general&#x27; is taken." in response.content.decode()
    response = browser.post("/", {"name": "Bad", "room_id": "Not A Slug"})
    assert "A room id is a slug" in response.content.decode()
    assert Room.objects.count() == 1


def test_create_room_needs_the_csrf_token(member, general):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member)
    assert strict.post("/", {"name": "Sneaky"}).status_code == 403
    assert not Room.objects.filter(pk="sneaky").exists()


# ---- a room ---------------------------------------------------------------------------


def test_room_page_shows_the_last_50_posts_oldest_first(browser, general):
    posts = [add_post(general, f"post number {n:03}") for n in range(60)]
    html = browser.get("/rooms/general/").content.decode()
    shown = re.findall(r'data-post-id="([0-9a-z]+)"', html)
    assert shown == [public_post_id(p.pk) for p in posts[-50:]]
    assert "post number 009" not in html and "post number 010" in html and "post number 059" in html


def test_room_page_escapes_post_bodies(browser, general):
    add_post(general, XSS, author="<b>mallory</b>")
    html = browser.get("/rooms/general/").content.decode()
    assert XSS not in html and "<b>mallory" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;mallory&lt;/b&gt;" in html


def test_room_page_marks_bot_posts(browser, general):
    add_post(general, "AAPL.US quote is $93.42 per share", author="StockBot", is_bot=True)
    html = browser.get("/rooms/general/").content.decode()
    assert re.search(r'class="post post--bot" data-post-id="[0-9a-z]+"', html)
    assert 'class="badge badge--bot">bot<' in html


def test_room_page_gives_its_script_what_it_needs_without_inline_script(browser, member, general):
    html = browser.get("/rooms/general/").content.decode()
    assert 'data-room-id="general"' in html and f'data-user-id="{member.pk}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    # One ES module (it imports the rest from static/chat/): nothing inline, no event-handler
    # attributes.
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="/static/chat/room.js">']
    assert not re.search(r"\son[a-z]+=", html)


def data_attributes(html, tag_pattern):
    """The data- attributes of the first tag matching `tag_pattern`, by name."""
    tag = re.search(tag_pattern, html).group(0)
    return dict(re.findall(r'\sdata-([a-z-]+)="([^"]*)"', tag))


def test_room_page_gives_its_script_the_server_limits(browser, general, settings):
    settings.POST_EDIT_WINDOW_SECONDS = 120
    settings.MARK_READ_RATE_LIMIT, settings.MARK_READ_WINDOW_SECONDS = 4, 10
    html = browser.get("/rooms/general/").content.decode()
    data = data_attributes(html, r"<main [^>]*>")
    assert data["history-limit"] == str(HISTORY_MAX) and data["search-limit"] == str(SEARCH_LIMIT_DEFAULT)
    assert data["edit-window"] == "120"
    assert data["typing-interval"] == str(settings.TYPING_INTERVAL_SECONDS)
    # markRead at most once a second per tab, slower when its rate limit asks (10 s / 4).
    assert float(data["mark-read-interval"]) == 2.5
    settings.MARK_READ_RATE_LIMIT = 100
    html = browser.get("/rooms/general/").content.decode()
    assert float(data_attributes(html, r"<main [^>]*>")["mark-read-interval"]) == 1
    assert f'maxlength="{settings.POST_MAX_LENGTH}"' in html and f'maxlength="{SEARCH_QUERY_MAX_LENGTH}"' in html


def test_room_list_gives_its_script_the_rooms_one_connection_can_follow(browser, general, settings):
    settings.WEBSOCKET_MAX_OPERATIONS = 7
    html = browser.get("/").content.decode()
    data = data_attributes(html, r"<ul class=\"rooms\"[^>]*>")
    # readStateChanged takes one of the connection's operations; each room followed, one.
    assert data["live-rooms-max"] == "6" and data["count-max"] == str(UNREAD_COUNT_MAX)
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="/static/chat/rooms.js">']


def test_unknown_room_is_404(browser, db):
    assert browser.get("/rooms/nowhere/").status_code == 404


def test_room_page_needs_login(client, general):
    response = client.get("/rooms/general/")
    assert response.status_code == 302 and response.headers["Location"] == "/login/?next=/rooms/general/"


def test_locked_room_page_says_so_and_disables_the_box(browser, general):
    general.locked = True
    general.save()
    html = browser.get("/rooms/general/").content.decode()
    assert "locked this room" in html
    assert re.search(r"<textarea[^>]*disabled", html)


# ---- headers and static files -----------------------------------------------------------


def test_room_page_forbids_inline_script(browser, general):
    response = browser.get("/rooms/general/")
    policy = csp(response)
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "ws://testserver" in policy["connect-src"]


@pytest.mark.parametrize("path", ["/login/", "/signup/", "/admin/login/", "/graphql/"])
def test_other_pages_have_the_policy_too(client, db, path):
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert csp(response)["script-src"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/static/chat/room.js", "/static/chat/chat.css", "/static/admin/css/base.css"])
def test_static_files_are_served_without_collectstatic(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert len(body) > 100


CHAT_MODULES = sorted(path.name for path in (Path(__file__).resolve().parent.parent / "static" / "chat").glob("*.js"))


def test_the_browser_code_is_split_in_modules():
    assert {"graphql.js", "room.js", "rooms.js"} <= set(CHAT_MODULES) and len(CHAT_MODULES) > 3


@pytest.mark.parametrize("name", CHAT_MODULES)
def test_each_chat_module_is_served_as_javascript_and_imports_what_exists(client, db, name):
    """A browser runs a module script only when it comes with a JavaScript MIME type; an
    import of a file or a name that isn't there stops the whole page."""
    response = client.get(f"/static/chat/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] in {"text/javascript", "application/javascript"}
    source = (b"".join(response.streaming_content) if response.streaming else response.content).decode()
    for names, module in re.findall(r'^import \{ ([^}]+) \} from "\./([a-z-]+\.js)";$', source, re.M):
        assert module in CHAT_MODULES, f"{name} imports {module}"
        exported = (Path(__file__).resolve().parent.parent / "static" / "chat" / module).read_text()
        for imported in names.split(", "):
            assert re.search(rf"^export (const|function|class) {imported}\b", exported, re.M), f"{name}: {module} has no {imported}"

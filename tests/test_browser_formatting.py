"""Formatted posts in Debian's Chromium, embedded and on the full stack: the Markdown subset
drawn for every reader (live, from the page the server rendered, and in the editor as typed),
the text as sent kept by the API, and hostile Markdown and HTML drawn with no script, no
event handler and no `javascript:` or `data:` address anywhere in the page.
"""
import uuid

import pytest

from accounts.services import issue_tokens, sign_up
from rooms.services import create_room
from tests.browser import WAIT_MS, chromium, connected, new_page, send
from tests.clients import PASSWORD, POSTS, OverHttp, data, new_username
from tests.helpers import posted

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1000, "height": 900}

FORMATTED = "\n".join(
    [
        "**Release** is *today*, ~~tomorrow~~ see `make deploy` and [the notes](https://example.com/notes?a=1&b=2)",
        "or https://example.com/plain.",
        "> quoted _words_",
        "- one",
        "- two with `code`",
        "3. third",
        "4. fourth",
        "```",
        "<b>not bold</b> **not strong**",
        "```",
        "snake_case_name stays and 2 * 3 * 4 too",
    ]
)

# Each of these must end as text, or as an element of the subset with a safe address.
HOSTILE = [
    "<script>window.pwned = 1</script>",
    "<img src=x onerror=\"window.pwned = 2\">",
    "[click](javascript:window.pwned=3)",
    "[click](JaVaScRiPt:window.pwned=4)",
    "[click]( javascript:window.pwned=5)",
    "[click](java\tscript:window.pwned=6)",
    "[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cucHduZWQ9NzwvcmVzY3JpcHQ+)",
    "![image](data:image/svg+xml,<svg onload=window.pwned=8>)",
    "<a href=\"javascript:window.pwned=9\">html link</a>",
    "[x](https://ok.example/\" onmouseover=\"window.pwned=10)",
    "<javascript:window.pwned=11> <vbscript:msgbox(1)> [v](vbscript:msgbox(1)) [f](file:///etc/passwd) [r](//evil.example/)",
    "**[bold link](https://ok.example/b) <svg/onload=window.pwned=12>** `<iframe src=javascript:1>`",
    "<style>body{display:none}</style><form action=https://evil.example><input name=q></form>",
    "> [q](javascript:window.pwned=13)\n- [l](data:,x)\n```\n<script>window.pwned=14</script>\n```",
]

AUDIT = """() => {
  const problems = [];
  const root = document.getElementById("posts");
  for (const node of root.querySelectorAll("*")) {
    const inBody = node.parentElement.closest(".body");  // drawn from a post's text
    if (inBody && !["P", "STRONG", "EM", "DEL", "CODE", "PRE", "A", "UL", "OL", "LI", "BLOCKQUOTE"].includes(node.tagName))
      problems.push("element " + node.tagName);
    for (const attribute of node.attributes) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
      if (name.startsWith("on")) problems.push("handler " + name + " on " + node.tagName);
      if (/^(javascript|data|vbscript|file):/.test(value)) problems.push(name + "=" + attribute.value);
      if (inBody && !["class", "href", "target", "rel", "start"].includes(name)) problems.push("attribute " + name);
    }
    if (node.tagName === "A" && inBody) {
      if (!/^(https?|mailto):/.test(node.protocol)) problems.push("link " + node.href);
      if (node.target !== "_blank" || node.rel !== "noopener noreferrer") problems.push("link opens " + node.target + " " + node.rel);
    }
  }
  if (document.querySelectorAll("script:not([src])").length) problems.push("inline script");
  if (window.pwned !== undefined) problems.push("ran: " + window.pwned);
  return problems;
}"""


@pytest.fixture(params=["embedded", pytest.param("full_stack", marks=pytest.mark.fullstack)])
def web(request, transactional_db, general, stack_env):
    if request.param == "embedded":
        return request.getfixturevalue("web_of_its_own")
    return request.getfixturevalue("full_stack").web1


def logged_in(browser, web, user, room_id):
    page = new_page(browser, web.url, VIEWPORT)
    page.goto(f"/login/?next=/rooms/{room_id}/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"**/rooms/{room_id}/")
    connected(page)
    return page


def body_of(page, text):
    return page.locator("#posts li.post .body", has_text=text)


def assert_formatted(body, when="today"):
    from playwright.sync_api import expect

    first = body.locator(":scope > p").first
    expect(first.locator(":scope > strong")).to_have_text("Release", timeout=WAIT_MS)
    expect(first.locator(":scope > em")).to_have_text(when, timeout=WAIT_MS)
    expect(first.locator(":scope > del")).to_have_text("tomorrow", timeout=WAIT_MS)
    expect(first.locator(":scope > code")).to_have_text("make deploy", timeout=WAIT_MS)
    notes = body.locator("a", has_text="the notes")
    assert notes.get_attribute("href") == "https://example.com/notes?a=1&b=2"
    assert (notes.get_attribute("target"), notes.get_attribute("rel")) == ("_blank", "noopener noreferrer")
    plain = body.locator("a", has_text="https://example.com/plain")
    assert plain.get_attribute("href") == "https://example.com/plain", "the sentence's full stop is not in it"
    expect(body.locator("blockquote em")).to_have_text("words", timeout=WAIT_MS)
    expect(body.locator("ul > li")).to_have_text(["one", "two with code"], timeout=WAIT_MS)
    expect(body.locator("ul > li code")).to_have_text("code", timeout=WAIT_MS)
    expect(body.locator("ol > li")).to_have_text(["third", "fourth"], timeout=WAIT_MS)
    assert body.locator("ol").get_attribute("start") == "3"
    expect(body.locator("pre > code")).to_have_text("<b>not bold</b> **not strong**", timeout=WAIT_MS)
    assert body.locator("pre b, pre strong").count() == 0
    expect(body.locator("p").last).to_have_text("snake_case_name stays and 2 * 3 * 4 too", timeout=WAIT_MS)


def test_formatting_is_drawn_safely_and_the_text_is_kept(web):
    from playwright.sync_api import expect

    ann = sign_up(username=new_username("ann"), password=PASSWORD)
    bea = sign_up(username=new_username("bea"), password=PASSWORD)
    # Two senders: the hostile posts stay within the post rate limit.
    senders = [issue_tokens(sign_up(username=new_username(name), password=PASSWORD))["access_token"] for name in ("mal", "mel")]
    ann_token = issue_tokens(ann)["access_token"]
    # A room of its own: the full stack's web processes outlive each test's database.
    room_id = f"format-{uuid.uuid4().hex[:8]}"
    create_room(room_id=room_id, name="Format")
    api = OverHttp(web.url)
    with chromium() as browser:
        ann_page, bea_page = logged_in(browser, web, ann, room_id), logged_in(browser, web, bea, room_id)

        # Ann types a formatted post; Bea sees it drawn, live.
        send(ann_page, FORMATTED)
        for page in (ann_page, bea_page):
            assert_formatted(body_of(page, "Release"))

        # The API keeps the text as sent.
        history = data(api(POSTS, {"input": {"roomId": room_id}}, token=ann_token), "posts")
        assert [post["body"] for post in history] == [FORMATTED]

        # Editing starts from the text as sent, and the edit is drawn again.
        mine = ann_page.locator("#posts li.post", has=ann_page.locator(".body", has_text="Release"))
        mine.hover()
        mine.locator(".post-edit").click()
        expect(ann_page.locator(".post-editor-text")).to_have_value(FORMATTED, timeout=WAIT_MS)
        ann_page.fill(".post-editor-text", FORMATTED.replace("*today*", "*tonight*"))
        ann_page.press(".post-editor-text", "Enter")
        expect(body_of(bea_page, "Release").locator(":scope > p").first.locator(":scope > em")).to_have_text("tonight", timeout=WAIT_MS)

        # Hostile Markdown and HTML, from an API client: shown, and nothing of it runs.
        for n, body in enumerate(HOSTILE):
            posted(api, senders[n % 2], body, room=room_id)
        expect(bea_page.locator("#posts li.post")).to_have_count(1 + len(HOSTILE), timeout=WAIT_MS)
        assert bea_page.evaluate(AUDIT) == []
        # What was shown as text is the text as sent.
        expect(body_of(bea_page, "window.pwned = 1")).to_have_text("<script>window.pwned = 1</script>", timeout=WAIT_MS)
        expect(body_of(bea_page, "pwned = 2")).to_have_text('<img src=x onerror="window.pwned = 2">', timeout=WAIT_MS)
        expect(body_of(bea_page, "pwned=3")).to_have_text("[click](javascript:window.pwned=3)", timeout=WAIT_MS)
        links = bea_page.locator("#posts .body a")
        # Links only where an http(s) address was written: bare ones are links too.
        assert sorted(set(links.evaluate_all("links => links.map(a => a.href)"))) == [
            "https://evil.example/",  # the form's action, as text: a bare address
            "https://example.com/notes?a=1&b=2",
            "https://example.com/plain",
            "https://ok.example/",  # up to the quote that tried to end the attribute
            "https://ok.example/b",
        ]

        # The same posts from the page the server rendered.
        bea_page.reload()
        connected(bea_page)
        assert_formatted(body_of(bea_page, "Release"), when="tonight")
        expect(bea_page.locator("#posts li.post")).to_have_count(1 + len(HOSTILE), timeout=WAIT_MS)
        assert bea_page.evaluate(AUDIT) == []
        expect(body_of(bea_page, "pwned=14").locator("pre > code")).to_have_text("<script>window.pwned=14</script>", timeout=WAIT_MS)

        # Search results are drawn the same way.
        bea_page.fill("#search-query", "click")
        bea_page.press("#search-query", "Enter")
        expect(bea_page.locator("#search-list li.post").first).to_be_visible(timeout=WAIT_MS)
        assert bea_page.evaluate(AUDIT.replace('getElementById("posts")', 'getElementById("search-list")')) == []

        for page in (ann_page, bea_page):
            assert not page.dialogs and not page.problems, page.dialogs + page.problems

"""The GraphiQL page works offline: every asset it loads is ours and is served."""
import base64
import hashlib
from html.parser import HTMLParser

import pytest
from django.conf import settings

from chatsite.graphql import ChatGraphQLView


class Assets(HTMLParser):
    """The page's scripts and stylesheets, and the attributes of #editor."""

    def __init__(self):
        super().__init__()
        self.scripts, self.links, self.editor = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append(attrs)
        elif tag == "link":
            self.links.append(attrs)
        elif attrs.get("id") == "editor":
            self.editor = attrs


@pytest.fixture
def page(client):
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = Assets()
    assets.feed(html)
    return html, assets


def referenced(assets):
    return [s["src"] for s in assets.scripts if "src" in s] + [link["href"] for link in assets.links]


def test_graphiql_references_no_external_host(page):
    html, assets = page
    assert "cdn.jsdelivr.net" not in html
    urls = referenced(assets)
    assert urls, "the page loads no assets at all?"
    for url in urls:
        assert "://" not in url and not url.startswith("//"), f"external asset {url}"
        assert url.startswith("/" + settings.STATIC_URL.lstrip("/")), f"{url} is not a static file"


def test_graphiql_has_no_inline_script(page):
    """It runs under a Content-Security-Policy of script-src 'self'."""
    html, assets = page
    for script in assets.scripts:
        assert "src" in script or script.get("type") == "application/json", f"inline script {script}"
    assert "<style" not in html
    # What the inline script used to set now travels in data- attributes for our script.
    assert assets.editor["data-header-editor-enabled"] in {"true", "false"}
    scripts = [s["src"] for s in assets.scripts]
    settings_js, bootstrap = (f"/{settings.STATIC_URL.lstrip('/')}{p}" for p in ("graphiql/graphene-settings.js", "graphene_django/graphiql.js"))
    assert scripts[-2:] == [settings_js, bootstrap], "graphene's bootstrap must come last, after our settings"


def test_every_graphiql_asset_is_served(client, page):
    _, assets = page
    tags = [(s["src"], s.get("integrity")) for s in assets.scripts if "src" in s]
    tags += [(link["href"], link.get("integrity")) for link in assets.links]
    for url, integrity in tags:
        response = client.get(url)
        assert response.status_code == 200, f"{url} answers {response.status_code}"
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, f"{url} is empty"
        if integrity:
            # The vendored file is byte for byte the one graphene-django's hash names.
            algorithm, expected = integrity.split("-", 1)
            assert base64.b64encode(hashlib.new(algorithm, body).digest()).decode() == expected, url


def test_vendored_versions_are_the_ones_graphene_names():
    """Upgrading graphene-django to other versions needs the matching files vendored."""
    root = settings.BASE_DIR / "static" / "graphiql"
    view = ChatGraphQLView
    for directory in (
        f"whatwg-fetch-{view.whatwg_fetch_version}",
        f"react-{view.react_version}",
        f"react-dom-{view.react_version}",
        f"graphiql-{view.graphiql_version}",
        f"graphql-ws-{view.subscriptions_transport_ws_version}",
        f"graphiql-plugin-explorer-{view.graphiql_plugin_explorer_version}",
    ):
        assert (root / directory).is_dir(), f"static/graphiql/{directory} is missing"
        assert any(p.name.startswith("LICENSE") for p in (root / directory).iterdir()), f"{directory} has no license"


def test_json_clients_still_get_json(client):
    response = client.get("/graphql/", {"query": "{ rooms { id } }"}, HTTP_ACCEPT="application/json")
    assert response["Content-Type"].startswith("application/json")

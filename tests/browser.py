"""Debian's Chromium, driven by Playwright (no browser download works here), and what the
browser tests do with a page: log in, wait for the live connection, send, read the posts shown."""
import os
import socket
import struct
import threading
from contextlib import contextmanager

import pytest

from tests.clients import PASSWORD
from tests.conftest import IN_CI
from tests.stack import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ARTIFACTS / "screenshots"
WAIT_MS = 15_000
# Without the background-networking flags Chromium keeps dialling hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_chromium():
    """Skip when a newcomer has no Chromium; in CI a missing one is a failure."""
    if os.access(CHROMIUM, os.X_OK):
        return
    reason = f"{CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get install chromium)"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def chromium():
    """Start it only after the fixtures that touch the database: while Playwright's sync API
    runs, an event loop runs in this thread and Django refuses ORM calls."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


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
    return page.eval_on_selector_all("#posts li.post", "items => items.map(item => item.dataset.postId)")


def shown_seqs(page):
    """Each shown post's position in the room (data-seq), in the order the list shows them."""
    return page.eval_on_selector_all("#posts li.post", "items => items.map(item => Number(item.dataset.seq))")


def shown_bodies(page):
    return page.locator("#posts li.post .body").all_inner_texts()


def log_in(browser, base_url, user, room_path, viewport):
    page = new_page(browser, base_url, viewport)
    page.goto(f"/login/?next={room_path}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"**{room_path}")
    return page


def shot(page, name, mode):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{mode}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


class CuttableLink:
    """A TCP relay in front of a web process, for one browser: `cut()` resets every
    connection through it and refuses new ones, as a dropped network would (the page sees
    its WebSocket close abnormally, 1006); `restore()` lets connections through again on the
    same port. (Chromium's offline emulation leaves an open WebSocket up, so it can't.)"""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.lock = threading.Lock()
        self.listener = None
        self.connections = set()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def restore(self):
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: the same port again
        listener.settimeout(0.2)
        with self.lock:
            self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    start = restore

    def cut(self):
        with self.lock:
            listener, self.listener = self.listener, None
            connections, self.connections = self.connections, set()
        if listener is not None:
            listener.close()
        for conn in connections:
            self._reset(conn)

    def _accept(self, listener):
        while True:
            with self.lock:
                if self.listener is not listener:
                    return
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                self._reset(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self.lock:
                if self.listener is not listener:  # cut meanwhile
                    self._reset(client)
                    self._reset(upstream)
                    return
                self.connections.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for conn in (source, sink):
                with self.lock:
                    self.connections.discard(conn)
                self._reset(conn)

    @staticmethod
    def _reset(conn):
        """Close with a TCP reset, not a goodbye."""
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

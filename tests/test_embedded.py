"""The embedded mode (no AMQP_URL), served the way `make run` serves it: one `web` process
runs the pipeline itself. A slow stage (the bot's Stooq fetch) must hold neither the
database nor anyone's createPost: the stages run after the request's commit, in the
background.

Speed is shown by order, not by timing: the fake Stooq records when its hung answer is
released, and every createPost here must have answered before that.
"""
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from celery import shared_task
from django.conf import settings

from chatsite.settings import database_from_url
from posts import embedded
from posts.room_tokens import issue_room_token
from tests.fake_stooq import HEADER, SLOW, FakeStooq
from tests.clients import OverHttp, sign_up
from tests.helpers import history, posted
from tests.stack import ARTIFACTS, ROOT, Web, embedded_env, ready, running, wait_until

started_processes = pytest.mark.usefixtures("transactional_db", "general")

HANG_SECONDS = 4  # under the bot's 5 s timeout: the bot answers with the quote
SLOW_QUOTE = (200, HEADER + "SLOW.US,2026-11-27,22:00:09,12.1,12.5,11.9,12.34,1000\r\n")
BOT_ANSWER = "SLOW.US quote is $12.34 per share"


@pytest.fixture(scope="module")
def slow_stooq():
    with FakeStooq(slow_seconds=HANG_SECONDS, slow_answer=SLOW_QUOTE) as fake:
        yield fake


@pytest.fixture(scope="module")
def web(stack_env, slow_stooq):
    """On the test database, as the other started-process tests are."""
    with running(Web(embedded_env(stack_env, STOOQ_URL=slow_stooq.url), label="embedded")) as process:
        yield process


@pytest.fixture(scope="module")
def sqlite_web(stack_env, slow_stooq):
    """On a fresh SQLite file named by a relative DATABASE_URL (relative to the project
    root, the process's working directory), migrated here and deleted afterwards."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    directory = tempfile.mkdtemp(prefix="embedded-sqlite-", dir=ARTIFACTS)
    relative = os.path.relpath(os.path.join(directory, "chat.sqlite3"), ROOT)
    assert not os.path.isabs(relative)
    env = embedded_env(stack_env, STOOQ_URL=slow_stooq.url, DATABASE_URL=f"sqlite:///{relative}")
    process = None
    try:
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrated.returncode == 0, migrated.stdout[-2000:] + migrated.stderr[-3000:]
        assert os.path.isfile(os.path.join(directory, "chat.sqlite3")), "three slashes: relative to the project root"
        process = ready(Web(env, label="embedded-sqlite-url"))
        yield process
    finally:
        if process is not None:
            process.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _count(paths):
    return sum(1 for path in paths if f"s={SLOW}" in path)


def slow_command_does_not_hold_anyone_up(web, fake):
    gql = OverHttp(web.url)
    alice, _, _ = sign_up(gql)
    bob, _, bob_name = sign_up(gql)
    asked_before, answered_before = _count(fake.requests), _count(fake.answered)

    def hang_over():
        return _count(fake.answered) > answered_before

    # Alice's command, in a thread of its own: before the change her createPost itself
    # waited for the bot's fetch (and held the database meanwhile).
    alice_done = {}

    def alice_posts():
        try:
            alice_done["request_id"] = posted(gql, alice, f"/stock={SLOW}")
        except BaseException as exc:  # reported by the main thread
            alice_done["error"] = exc
        alice_done["hang_over_at_return"] = hang_over()

    alice_thread = threading.Thread(target=alice_posts)
    alice_thread.start()
    try:
        wait_until(lambda: _count(fake.requests) > asked_before, 15, "the bot to ask Stooq for the slow symbol")

        # While the bot's fetch hangs, Bob posts: answered, and readable in history.
        bob_body = f"hello from {bob_name} while the bot waits"
        posted(gql, bob, bob_body)
        assert not hang_over(), "Bob's createPost answered only after the bot's Stooq fetch ended"
        wait_until(lambda: any(p["body"] == bob_body for p in history(gql, bob)), 10, "Bob's post in history")
        assert not hang_over(), "Bob's post became readable only after the bot's Stooq fetch ended"
    finally:
        alice_thread.join(30)
    assert "error" not in alice_done, alice_done.get("error")
    assert alice_done["hang_over_at_return"] is False, "Alice's createPost waited for the bot's Stooq fetch"

    # Later, the bot's answer arrives as before.
    def bot_answered():
        return [p for p in history(gql, alice) if p["isBot"] and p["body"] == BOT_ANSWER]

    (answer,) = wait_until(bot_answered, HANG_SECONDS + 20, "the bot's answer in history")
    assert answer["author"] == "StockBot"
    assert "database is locked" not in web.log()


@started_processes
def test_a_slow_bot_command_holds_up_no_one(web, slow_stooq):
    slow_command_does_not_hold_anyone_up(web, slow_stooq)


@started_processes
def test_the_same_with_sqlite_named_by_a_relative_database_url(sqlite_web, slow_stooq):
    slow_command_does_not_hold_anyone_up(sqlite_web, slow_stooq)


# --- in-process: the pieces ---


@pytest.mark.parametrize(
    "url, name",
    [
        ("sqlite:///chat.db", Path.cwd() / "chat.db"),  # three slashes: relative to the current directory
        ("sqlite:///data/chat.db", Path.cwd() / "data" / "chat.db"),
        ("sqlite:////srv/chat/chat.db", Path("/srv/chat/chat.db")),  # four: absolute
    ],
)
def test_sqlite_is_configured_alike_however_it_is_named(url, name):
    database = database_from_url(url)
    assert database["NAME"] == name
    assert database["TEST"] == {"NAME": str(name.with_name(f"test_{name.name}"))}
    assert database["OPTIONS"] == settings.SQLITE_OPTIONS
    assert settings.SQLITE_OPTIONS["transaction_mode"] == "IMMEDIATE" and settings.SQLITE_OPTIONS["timeout"] >= 20


def test_outside_a_server_stages_run_inline():
    assert embedded.server_loop() is None


@shared_task(name="test.embedded.failing")
def failing_stage(**payload):
    raise ValueError("the stage broke")


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def pipeline_errors():
    handler = Collect()
    logger = logging.getLogger("posts.pipeline")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_a_failing_stage_is_logged_with_its_stage_and_request_id(pipeline_errors):
    embedded.run_stage("test.embedded.failing", {"request_id": "r-123"})
    token = issue_room_token(request_id="r-456", room_id="general", user_id=1)
    embedded.run_stage("test.embedded.failing", {"room_token": token})
    assert len(pipeline_errors) == 2, pipeline_errors
    assert "stage=test.embedded.failing request_id=r-123 " in pipeline_errors[0]
    assert "the stage broke" in pipeline_errors[0]
    assert "request_id=r-456 " in pipeline_errors[1]  # a bot reply carries it in its room token


def test_a_stage_pool_runs_calls_in_order_on_at_most_its_size_of_daemon_threads():
    pool = embedded.stage_pool("test", 2)
    threads, gate = [], threading.Event()

    def call(i):
        threads.append(threading.current_thread())
        gate.wait(10)
        return i

    futures = [pool.submit(call, i) for i in range(5)]
    wait_until(lambda: len(threads) == 2, 10, "two calls to start")
    assert pool.unfinished == 5 and not pool.wait_idle(0.05)
    gate.set()
    assert [f.result(10) for f in futures] == list(range(5))
    assert pool.wait_idle(10)
    assert len({t.name for t in threads}) <= 2 and all(t.daemon for t in threads)

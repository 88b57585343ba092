"""Shared fixtures: the fake Stooq, a RabbitMQ vhost per run, the started stack, one embedded
`web` per module, and `gql` (GraphQL through Django's test client)."""
import os
import subprocess
import sys
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings

from tests.clients import InProcess
from tests.fake_stooq import FakeStooq
from tests.stack import ROOT, Web, Worker, embedded_env, running

IN_CI = bool(os.environ.get("CI"))


def _flush_retrying_a_deadlock():
    """A transactional test ends with Django's flush (TRUNCATE of every table) while the
    stack it started still runs: a background write (presence, a sweep) committing at that
    moment checks its foreign keys against the tables being truncated, and PostgreSQL breaks
    the deadlock by failing the TRUNCATE. The test's teardown tries again."""
    from django.core.management.base import CommandError
    from django.core.management.commands import flush

    handle = flush.Command.handle

    def handle_retrying(self, **options):
        for attempt in range(5):
            try:
                return handle(self, **options)
            except CommandError as exc:
                if attempt == 4 or "deadlock detected" not in str(exc.__cause__ or ""):
                    raise
                time.sleep(0.2 * (attempt + 1))

    flush.Command.handle = handle_retrying


_flush_retrying_a_deadlock()


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    broker = settings.TEST_AMQP_URL.rsplit("@", 1)[-1] if settings.TEST_AMQP_URL else "none (AMQP_URL unset: full-stack tests skip)"
    return [f"chat: database {db['ENGINE'].rsplit('.', 1)[-1]}; RabbitMQ for the started stack: {broker}"]


def need(value, variable, what):
    """Skip when a newcomer has no such service; in CI a missing one is a failure."""
    if value:
        return
    if IN_CI:
        pytest.fail(f"{variable} is not set in CI: {what} must run there")
    pytest.skip(f"{variable} is not set: {what} (see README, 'Running the full stack')")


@pytest.fixture(scope="session")
def stooq():
    with FakeStooq() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _point_bot_at_fake_stooq(settings, stooq):
    settings.STOOQ_URL = stooq.url


def _rabbitmqctl(*args):
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)


def new_vhost():
    """A vhost of our own on the broker at AMQP_URL, deleted afterwards; yields its URL."""
    need(settings.TEST_AMQP_URL, "AMQP_URL", "this test needs RabbitMQ")
    parts = urlsplit(settings.TEST_AMQP_URL)
    vhost = f"chat-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    for args in (["add_vhost", vhost], ["set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*"]):
        done = _rabbitmqctl(*args)
        if done.returncode != 0:
            pytest.fail(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}")
    yield urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))
    _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def amqp_url():
    """A vhost of this run's own."""
    yield from new_vhost()


def database_url():
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"])
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"


def _end_other_sessions():
    """Processes killed by a test may leave their PostgreSQL sessions a moment behind;
    end them, so the test database can be dropped."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(scope="session")
def stack_env(django_db_setup, django_db_blocker, stooq):
    """The environment a deployment would give the Procfile's processes, on the test database."""
    yield {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "STOOQ_URL": stooq.url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
        "PATH": f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}",
    }
    with django_db_blocker.unblock():
        _end_other_sessions()


class Stack:
    def __init__(self, env, amqp_url):
        self.env = {**env, "AMQP_URL": amqp_url}
        self.amqp_url = amqp_url
        self.processes = []

    def web(self, **kwargs):
        return self._started(Web(self.env, **kwargs))

    def worker(self, kind="worker"):
        return self._started(Worker(kind, self.env, self.amqp_url))

    def _started(self, process):
        self.processes.append(process.start())
        return process

    def start_procfile(self):
        """Two `web`, one `worker`, one `bot`, started as the Procfile starts them; ready."""
        self.web1, self.web2 = self.web(label="web1"), self.web(label="web2")
        self.posts_worker, self.bot = self.worker("worker"), self.worker("bot")
        for process in self.processes:
            process.wait_ready()
        return self

    def logs(self):
        return "\n".join(p.log() for p in self.processes)

    def stop(self):
        for process in reversed(self.processes):
            process.stop()


@pytest.fixture(scope="session")
def full_stack(stack_env, amqp_url):
    """Two `web`, one `worker`, one `bot`, started as the Procfile starts them."""
    stack = Stack(stack_env, amqp_url)
    try:
        yield stack.start_procfile()
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def embedded_web(stack_env):
    """One embedded `web` process (no broker: tasks and fan-out in it) for a test module."""
    with running(Web(embedded_env(stack_env), label="embedded")) as process:
        yield process


@pytest.fixture
def web_of_its_own(transactional_db, stack_env):
    """An embedded `web` process for one test (a browser test's pages and sockets end with it)."""
    with running(Web(embedded_env(stack_env), label="web")) as process:
        yield process


@pytest.fixture
def general(db):
    """Transactional tests flush the migration's rows; put `general` back."""
    from rooms.models import Room

    return Room.objects.get_or_create(id="general", defaults={"name": "General"})[0]


@pytest.fixture
def gql(db, general):
    """GraphQL over HTTP through Django's test client (a client of its own: no session)."""
    from django.test import Client

    return InProcess(Client())


__all__ = ["ROOT"]

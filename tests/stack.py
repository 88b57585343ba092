"""Start the Procfile's processes for a test (and for bench/), as a deployment would, and end
them: each line run by `bash -c "exec <line>"` in a session of its own, waited for by asking
(an HTTP answer, a Celery ping), never by sleeping."""
import asyncio
import os
import signal
import socket
import subprocess
import itertools
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from chatsite.stack import procfile

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
_serial = itertools.count(1)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def await_until(predicate, timeout, what):
    """`wait_until` for a test running an event loop: `predicate` is a coroutine function."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def ready(process):
    """`process`, started and answering; stopped again if it never answers."""
    process.start()
    try:
        process.wait_ready()
    except BaseException:
        process.stop()
        raise
    return process


@contextmanager
def running(process):
    """`process` started and answering for the block, stopped after it."""
    ready(process)
    try:
        yield process
    finally:
        process.stop()


def embedded_env(env, **extra):
    """The environment `make run` gives the web server: `env` without AMQP_URL."""
    return {**{k: v for k, v in env.items() if k != "AMQP_URL"}, **extra}


# urllib must not route loopback requests through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url, timeout=2.0):
    with _opener.open(url, timeout=timeout) as response:
        return response.status, response.read()


class Process:
    """One command (by default the Procfile entry `kind`) in its own session and process
    group, logging to test-artifacts/logs/ (or `log_dir`/<label>.log), serving its metrics
    on a port of its own (`metrics_url`)."""

    def __init__(self, kind, env, label=None, *, command=None, log_dir=None):
        self.kind = kind
        self.label = label or kind
        self.metrics_port = free_port()
        self.env = {**env, "METRICS_PORT": str(self.metrics_port)}
        self.command = command or procfile()[kind]
        self.popen = None
        self.stopped = False
        if log_dir is None:
            ARTIFACTS.joinpath("logs").mkdir(parents=True, exist_ok=True)
            # One file per process started, so a test reads only its own process's lines.
            self.log_path = ARTIFACTS / "logs" / f"{os.getpid()}-{next(_serial):02d}-{self.label}.log"
        else:
            self.log_path = Path(log_dir) / f"{self.label}.log"

    def start(self):
        self._log = open(self.log_path, "ab")
        self.stopped = False
        # `exec` keeps one process per entry, so `$$` (the worker's name) is its pid.
        self.popen = subprocess.Popen(
            ["bash", "-c", f"exec {self.command}"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self):
        return self.popen.pid

    @property
    def metrics_url(self):
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def check_alive(self):
        if not self.alive():
            raise AssertionError(f"{self.label} exited:\n{self.log()[-3000:]}")

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _signal(self, sig):
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout=15):
        if self.popen is None or self.stopped:
            return
        self.stopped = True
        if self.alive():
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait(5)
        # Prefork children may outlive a killed parent for a moment: end the group's rest.
        self._signal(signal.SIGKILL)
        self._log.close()

    def kill(self):
        """Die at once, as a crashed machine would: no acks, no goodbyes."""
        self._signal(signal.SIGKILL)
        self.popen.wait(10)


class Web(Process):
    def __init__(self, env, port=None, label="web", *, command=None, log_dir=None):
        self.port = port or free_port()
        if log_dir is None:
            label = f"{label}-{self.port}"
        super().__init__("web", {**env, "PORT": str(self.port)}, label, command=command, log_dir=log_dir)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/graphql/"

    def wait_ready(self, path="/admin/login/", timeout=60):
        def answers():
            self.check_alive()
            try:
                return http_get(self.url + path)[0] == 200
            except OSError:
                return False

        wait_until(answers, timeout, f"{self.label} to answer HTTP")
        return self


def celery_ping(amqp_url, timeout=1.0):
    """Names of the workers that answer on this broker."""
    from celery import Celery

    probe = Celery("probe", broker=amqp_url)
    try:
        replies = probe.control.ping(timeout=timeout) or []
    finally:
        probe.close()
    return {name for reply in replies for name in reply}


class Worker(Process):
    """A Celery worker; ready when it answers a ping under its node name
    (`name_prefix` + its pid, as the Procfile names it)."""

    def __init__(self, kind, env, amqp_url, *, label=None, command=None, log_dir=None, name_prefix=None):
        super().__init__(kind, env, label, command=command, log_dir=log_dir)
        self.amqp_url = amqp_url
        self.name_prefix = name_prefix or {"worker": "posts-", "bot": "bot-"}[kind]

    def wait_ready(self, timeout=90):
        name = f"{self.name_prefix}{self.pid}@"

        def answers():
            self.check_alive()
            return any(n.startswith(name) for n in celery_ping(self.amqp_url))

        wait_until(answers, timeout, f"{self.label} to answer celery ping")
        return self

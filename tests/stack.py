"""Start the Procfile's processes for a test, as a deployment would, and end them."""
import os
import re
import signal
import socket
import subprocess
import itertools
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
_serial = itertools.count(1)


def procfile():
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        match = re.match(r"^([\w-]+):\s*(.+)$", line.strip())
        if match:
            entries[match.group(1)] = match.group(2)
    return entries


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


def ready(process):
    """`process`, started and answering; stopped again if it never answers."""
    process.start()
    try:
        process.wait_ready()
    except BaseException:
        process.stop()
        raise
    return process


class Process:
    """One Procfile entry, in its own process group, logging to test-artifacts/logs/."""

    def __init__(self, kind, env, label=None):
        self.kind = kind
        self.label = label or kind
        self.env = env
        self.popen = None
        ARTIFACTS.joinpath("logs").mkdir(parents=True, exist_ok=True)
        # One file per process started, so a test reads only its own process's lines.
        self.log_path = ARTIFACTS / "logs" / f"{os.getpid()}-{next(_serial):02d}-{self.label}.log"

    def start(self):
        command = procfile()[self.kind]
        self._log = open(self.log_path, "ab")
        # `exec` keeps one process per entry, so `$$` (the worker's name) is its pid.
        self.popen = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
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

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _signal(self, sig):
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout=15):
        if not self.alive():
            return
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.popen.wait(5)

    def kill(self):
        """Die at once, as a crashed machine would: no acks, no goodbyes."""
        self._signal(signal.SIGKILL)
        self.popen.wait(10)


class Web(Process):
    def __init__(self, env, port=None, label="web"):
        self.port = port or free_port()
        super().__init__("web", {**env, "PORT": str(self.port)}, label=f"{label}-{self.port}")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/graphql/"

    def wait_ready(self, timeout=30):
        def answers():
            if not self.alive():
                raise AssertionError(f"{self.label} exited:\n{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/admin/login/", timeout=2) as response:
                    return response.status == 200
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
    def __init__(self, kind, env, amqp_url):
        super().__init__(kind, env)
        self.amqp_url = amqp_url

    def wait_ready(self, timeout=60):
        prefix = {"worker": "posts-", "bot": "bot-"}[self.kind]
        name = f"{prefix}{self.pid}@"

        def answers():
            if not self.alive():
                raise AssertionError(f"{self.label} exited:\n{self.log()[-3000:]}")
            return any(n.startswith(name) for n in celery_ping(self.amqp_url))

        wait_until(answers, timeout, f"{self.label} to answer celery ping")
        return self

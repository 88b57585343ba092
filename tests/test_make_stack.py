"""`make stack` (chatsite/stack.py): the Procfile's processes on the full stack from one
command, which says where the chat is, carries a post end to end, shows each process's
metrics, and stops every process it started on Ctrl-C."""
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.clients import OverHttp, sign_up
from tests.conftest import new_vhost
from tests.helpers import on_the_full_stack, posted, stored_post
from tests.stack import ROOT, celery_ping, free_port, http_get, wait_until


@pytest.fixture
def vhost_of_its_own():
    """Its worker must not take the session stack's messages."""
    yield from new_vhost()


def children(pid):
    """The processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@on_the_full_stack
def test_make_stack_runs_the_procfile_says_where_and_ctrl_c_stops_it_all(stack_env, vhost_of_its_own, general):
    port, metrics = free_port(), free_port()
    env = {**stack_env, "AMQP_URL": vhost_of_its_own, "PORT": str(port), "METRICS_PORT": str(metrics)}
    del env["SECRET_KEY"]  # made for the run
    stack = subprocess.Popen(
        [sys.executable, "-m", "chatsite.stack"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
    )
    lines = []
    threading.Thread(target=lambda: lines.extend(stack.stdout), daemon=True).start()
    started = []
    try:
        where = f"the chat is at http://127.0.0.1:{port} "
        wait_until(lambda: any(where in line for line in lines) or stack.poll() is not None, 90, "the chat's address")
        assert stack.poll() is None, "".join(lines)[-3000:]
        started = children(stack.pid)
        assert len(started) == 3, started  # web, worker, bot
        wait_until(lambda: len(celery_ping(vhost_of_its_own)) == 2, 60, "the worker and the bot")

        gql = OverHttp(f"http://127.0.0.1:{port}")
        token, _, _ = sign_up(gql)
        stored = stored_post(posted(gql, token, "through make stack"))
        assert stored.body == "through make stack"
        for n, name in enumerate(["web.1", "worker", "bot"]):
            assert f"{name:<8}| metrics at http://127.0.0.1:{metrics + n}/metrics" in "".join(lines)
        worker_metrics = http_get(f"http://127.0.0.1:{metrics + 1}/metrics")[1].decode()
        assert "chat_posts_stored_total 1.0" in worker_metrics

        os.kill(stack.pid, signal.SIGINT)  # what Ctrl-C sends
        assert stack.wait(30) == 0, "".join(lines)[-3000:]
        wait_until(lambda: not any(alive(pid) for pid in started), 10, "every process to end")
    finally:
        if stack.poll() is None:
            stack.kill()
            stack.wait(10)
        for pid in started:  # each in a group of its own, by its own id
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_make_stack_without_a_broker_or_database_says_what_to_set():
    env = {**os.environ, "AMQP_URL": "", "DATABASE_URL": ""}  # set and empty: a .env can't fill them
    done = subprocess.run([sys.executable, "-m", "chatsite.stack"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "set AMQP_URL and DATABASE_URL" in done.stderr and "`make run` needs neither" in done.stderr

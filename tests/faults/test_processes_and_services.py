"""A process or a service goes away mid-stream, while several users post and two readers
read: the bot is killed, RabbitMQ is stopped and started, PostgreSQL is restarted.
Each test ends with the reckoning (tests/faults/harness.py): every accepted post stored
exactly once, in its room, and delivered in order to the readers."""
import subprocess

import pytest

from posts.models import Post
from tests.fake_stooq import HEADER, FakeStooq
from tests.faults.conftest import make_room, make_users
from tests.clients import OverHttp
from tests.faults.harness import posting_and_reading, reckon
from tests.helpers import create_post, posted
from tests.stack import wait_until

pytestmark = [pytest.mark.fullstack, pytest.mark.django_db(transaction=True)]


def test_the_bot_killed_while_stooq_hangs_answers_the_command_once_when_started_again(start_stack):
    quote = HEADER + "SLOW.US,2026-11-27,22:00:09,10.0,11.0,9.0,10.5,1000\r\n"
    with FakeStooq(slow_seconds=3, slow_answer=(200, quote)) as stooq:
        stack = start_stack(STOOQ_URL=stooq.url)
        room_id = make_room()
        users = make_users(3)
        asker = users[0][1]
        with posting_and_reading(stack, room_id, users[1:], [asker, asker]) as (traffic, readers):
            traffic.wait_for(4)
            posted(OverHttp(stack.web1.url), asker, "/stock=slow.us", room_id)
            wait_until(lambda: any("slow.us" in path for path in stooq.requests), 15, "the bot to ask Stooq")
            stack.bot.kill()  # mid-request: its message was never acknowledged
            traffic.wait_for(3)
            stack.bot = stack.worker("bot")
            stack.bot.wait_ready()
            wait_until(lambda: Post.objects.filter(room_id=room_id, is_bot=True).exists(), 30, "the quote")
            traffic.wait_for(4)
            reckon(traffic, readers, room_id, expected_extra=1)
    quotes = list(Post.objects.filter(room_id=room_id, is_bot=True).values_list("body", flat=True))
    assert quotes == ["SLOW.US quote is $10.5 per share"], quotes
    asked = [path for path in stooq.requests if "slow.us" in path]
    assert len(asked) == 2, f"asked by the killed bot, then once by the new one: {asked}"


def rabbitmqctl(*args):
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_rabbitmq_stopped_and_started_mid_stream_refuses_posts_while_down_and_everything_recovers(start_stack):
    stack, room_id, users = start_stack(), make_room(), make_users(4)
    with posting_and_reading(stack, room_id, users) as (traffic, readers):
        traffic.wait_for(8)
        rabbitmqctl("stop_app")
        try:
            wait_until(lambda: traffic.refused["UNAVAILABLE"] >= 1, 30, "the web processes to find the broker down")
            while_down = create_post(OverHttp(stack.web2.url), users[0][1], "while down", room_id)
            wait_until(lambda: traffic.refused["UNAVAILABLE"] >= 4, 30, "posts refused while the broker is down")
        finally:
            rabbitmqctl("start_app")
            rabbitmqctl("await_startup")
        # Nobody restarts anything: the web processes, the worker and the bot reconnect.
        traffic.wait_for(10, timeout=90)
        try:
            reckon(traffic, readers, room_id, timeout=30)
        except AssertionError as exc:
            vhost = stack.amqp_url.rsplit("/", 1)[-1].replace("%2F", "/")
            queues = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages_ready",
                                     "messages_unacknowledged", "consumers"], capture_output=True, text=True).stdout
            channels = subprocess.run(["rabbitmqctl", "-q", "list_channels", "vhost", "name", "consumer_count",
                                       "messages_unacknowledged", "prefetch_count"], capture_output=True, text=True).stdout
            raise AssertionError(f"{exc}\nqueues:\n{queues}\nchannels:\n{channels}") from None
    assert while_down["errors"][0]["extensions"]["code"] == "UNAVAILABLE", while_down
    assert not Post.objects.filter(body="while down").exists()
    assert all(process.alive() for process in stack.processes)
    connections = [reader.connections for reader in readers]
    assert connections == [1, 1], f"the readers stayed connected through it: {connections}"


def test_postgresql_restarted_mid_stream_loses_nothing(start_stack):
    stack, room_id = start_stack(), make_room()
    with posting_and_reading(stack, room_id, make_users(4)) as (traffic, readers):
        traffic.wait_for(8)
        cluster = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True).stdout.split()[0]
        restarted = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart", "-m", "fast"],
            capture_output=True, text=True, timeout=120,
        )
        assert restarted.returncode == 0, restarted.stderr
        traffic.wait_for(15, timeout=90)
        stored = reckon(traffic, readers, room_id)
    assert all(process.alive() for process in stack.processes)
    assert len(stored) >= 23

"""The stack on a three-node RabbitMQ cluster (scripts/rabbitmq-cluster, never the system's
node on 5672), AMQP_URL naming the three nodes: the pipeline's queues are quorum queues, and a
node goes away mid-stream while several users post and two readers read on two `web`
processes: SIGKILLed (the node leading the `posts` queue, which holds the web processes'
connections), then started again; or stopped and started, each node in turn (a rolling
restart). Each test ends with the reckoning (tests/faults/harness.py) and writes what the
clients saw (how long createPost answered UNAVAILABLE, how long readers went without a post)
to test-artifacts/cluster-faults.json.

The tests start the cluster with the script (it needs root and RabbitMQ installed, as CI
has) and stop it at the end if they started it. A newcomer without AMQP_URL skips them."""
import time

import pytest
from django.conf import settings

from tests.conftest import Stack, need
from tests.faults import cluster
from tests.faults.conftest import FAULT_ENV, make_room, make_users
from tests.faults.harness import posting_and_reading, reckon
from tests.stack import wait_until

pytestmark = [pytest.mark.fullstack, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def rabbitmq_cluster():
    need(settings.TEST_AMQP_URL, "AMQP_URL", "the cluster tests run where RabbitMQ is installed")
    was_running = cluster.running()
    cluster.script("start")
    yield
    if not was_running:
        cluster.script("stop")


@pytest.fixture
def cluster_stack(rabbitmq_cluster, stack_env, postgresql):
    """-> (a started Stack on a vhost of its own on the cluster, the Vhost); stopped after."""
    cluster.script("start")  # every node up, whatever an earlier test left
    with cluster.Vhost() as vhost:
        stack = Stack({**stack_env, **FAULT_ENV}, vhost.url)
        try:
            yield stack.start_procfile(), vhost
        finally:
            stack.stop()


def on_quorum_queues(vhost):
    queues = vhost.queues()
    kinds = {name: queues[name][0] for name in ("posts", "stockbot", "dead-letters")}
    assert set(kinds.values()) == {"quorum"}, f"BROKER_QUORUM_QUEUES is on for a cluster: {kinds}"


def webs_on(stack, node):
    return [web for web in (stack.web1, stack.web2) if node in cluster.nodes_of(web.pid)]


def test_the_node_leading_posts_killed_mid_stream_and_started_again_loses_nothing(cluster_stack):
    stack, vhost = cluster_stack
    room_id, users = make_room(), make_users(4)
    with posting_and_reading(stack, room_id, users) as (traffic, readers):
        traffic.wait_for(8)
        on_quorum_queues(vhost)
        leader = vhost.leader("posts")
        moved = webs_on(stack, leader)
        assert moved, f"a web process is connected to {leader}, the leader of `posts`"

        killed_at = time.monotonic()
        cluster.script("kill-node", str(cluster.node_number(leader)))
        traffic.wait_for(10, timeout=90)
        new_leader = wait_until(lambda: (node := vhost.leader("posts")) != leader and node, 30, "a new leader")
        for web in moved:
            wait_until(lambda w=web: cluster.nodes_of(w.pid) - {leader}, 30, f"{web.label} to connect elsewhere")
        back_at = time.monotonic()
        cluster.script("start-node", str(cluster.node_number(leader)))
        traffic.wait_for(10, timeout=90)
        ended = time.monotonic()
        stored = reckon(traffic, readers, room_id)
        figures = {
            "killed": leader,
            "posts_leader_after": new_leader,
            "webs_moved": [web.label for web in moved],
            "while_down": cluster.refused_window(traffic, killed_at, back_at),
            "readers_longest_wait_s": [cluster.longest_wait(r, killed_at, back_at) for r in readers],
            "after_it_came_back": cluster.refused_window(traffic, back_at, ended),
            "readers_longest_wait_after_s": [cluster.longest_wait(r, back_at, ended) for r in readers],
            "posts_stored": len(stored),
            "refused": dict(traffic.refused),
        }
    cluster.record("node_killed", figures)
    assert all(process.alive() for process in stack.processes)


def test_a_rolling_restart_of_the_cluster_loses_nothing(cluster_stack):
    stack, vhost = cluster_stack
    room_id, users = make_room(), make_users(4)
    figures = {}
    with posting_and_reading(stack, room_id, users) as (traffic, readers):
        traffic.wait_for(8)
        on_quorum_queues(vhost)
        for n in range(1, cluster.NODES + 1):
            stopped_at = time.monotonic()
            leader = vhost.leader("posts")
            cluster.script("stop-node", str(n))
            traffic.wait_for(5, timeout=90)
            cluster.script("start-node", str(n))
            traffic.wait_for(5, timeout=90)
            ended = time.monotonic()
            figures[f"chat{n}@localhost"] = {
                "led_posts": leader == f"chat{n}@localhost",
                "clients": cluster.refused_window(traffic, stopped_at, ended),
                "readers_longest_wait_s": [cluster.longest_wait(r, stopped_at, ended) for r in readers],
            }
        stored = reckon(traffic, readers, room_id)
        figures |= {"posts_stored": len(stored), "refused": dict(traffic.refused)}
    cluster.record("rolling_restart", figures)
    assert all(process.alive() for process in stack.processes)

"""Each process's Prometheus metrics (chatsite/metrics.py), scraped as Prometheus would,
before and after what users do: the counters move in the process that did the work (the
`web` that took createPost, the `worker` that stored it, the `bot`, the `web` whose reader
got it), on the full stack and in the embedded mode's one process. Not on the public port.
A stage's retries and its failure for good are counted as a worker runs it, in-process."""
import socket

import pytest
from celery import shared_task
from django.db import DatabaseError

from chatsite.metrics import STAGE_FAILURES, STAGE_RETRIES
from tests.clients import OverHttp, Socket, scrape
from tests.helpers import chatter, create_post, on_the_full_stack, posted
from tests.stack import Web, embedded_env, http_get, wait_until

pytestmark = pytest.mark.usefixtures("general")

CREATED = "new.post.created"
STAGE_RUNS = "chat_stage_seconds_count"


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def scraped_once(process, before, name, **labels):
    """The process's metrics once `name` has moved since `before` (else None)."""
    now = scrape(process)
    return now if moved(before, now, name, **labels) else None


def subscribed_reader(web, token, room="general"):
    """A reader of the room on `web`, once its subscription is live (the process's own
    gauge says so: a subscription has no acknowledgement)."""
    reader = Socket(web.ws_url).init(token)
    op_id = reader.subscribe_posts(room)
    wait_until(lambda: value(scrape(web), "chat_web_room_streams_subscribers") >= 1, 10, "the subscription")
    return reader, op_id


@on_the_full_stack
def test_each_process_counts_its_part_of_a_post(full_stack):
    web1, web2 = full_stack.web1, full_stack.web2
    worker, bot = full_stack.posts_worker, full_stack.bot
    gql = OverHttp(web1.url)
    token, *_ = chatter("metrics")
    reader_token, *_ = chatter("metricsreader")
    reader, op_id = subscribed_reader(web2, reader_token)
    with reader:
        before = {p: scrape(p) for p in (web1, web2, worker, bot)}
        assert value(before[web2], "chat_web_websocket_connections_open") >= 1
        assert value(before[web2], "chat_web_websocket_connections_subscriptions") >= 1

        posted(gql, token, "counted once")
        assert reader.next_payload(op_id)["postCreated"]["body"] == "counted once"
        assert create_post(gql, token, "   ")["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

        after_worker = wait_until(lambda: scraped_once(worker, before[worker], STAGE_RUNS, stage="new.post.accepted"), 10, "the stage")
        after_web1, after_web2 = scrape(web1), scrape(web2)

    assert moved(before[web1], after_web1, "chat_posts_requested_total") == 2
    assert moved(before[web1], after_web1, "chat_posts_refused_total", reason="BAD_USER_INPUT") == 1
    assert moved(before[worker], after_worker, "chat_posts_stored_total") == 1
    assert moved(before[worker], after_worker, "chat_stage_seconds_count", stage="new.post.requested") == 1
    assert moved(before[worker], after_worker, "chat_stage_seconds_count", stage="new.post.accepted") == 1
    assert moved(before[worker], after_worker, "chat_stage_seconds_sum", stage="new.post.accepted") > 0
    assert moved(before[worker], after_worker, "chat_group_messages_sent_total", event=CREATED) == 1
    assert ("chat_queue_messages", (("queue", "posts"),)) in after_worker
    assert moved(before[web2], after_web2, "chat_group_messages_received_total") >= 1
    assert moved(before[web2], after_web2, "chat_subscription_events_sent_total") >= 1
    # Nothing of the post's work is counted where it didn't happen.
    assert moved(before[web2], after_web2, "chat_posts_requested_total") == 0
    assert moved(before[web1], after_web1, "chat_posts_stored_total") == 0

    # The bot: a quote, then a code Stooq doesn't know, which fails to its requester.
    posted(gql, token, "/stock=aapl.us")
    posted(gql, token, "/stock=nope.us")
    wait_until(
        lambda: moved(before[bot], scrape(bot), "chat_stage_seconds_count", stage="bot.command.received") == 2,
        15, "the bot's two stages to be counted",
    )
    wait_until(lambda: moved(after_worker, scrape(worker), "chat_posts_failed_total") == 1, 15, "the failed post")
    final = scrape(worker)
    assert moved(after_worker, final, "chat_posts_stored_total") == 1  # the quote
    assert moved(after_worker, final, "chat_stage_seconds_count", stage="bot.post.request") == 2


@on_the_full_stack
def test_metrics_are_not_served_on_the_public_port(full_stack):
    with pytest.raises(Exception) as refused:
        http_get(full_stack.web1.url + "/metrics")
    assert getattr(refused.value, "code", None) == 404
    assert http_get(full_stack.web1.metrics_url)[0] == 200


@pytest.mark.django_db(transaction=True)
def test_the_embedded_process_counts_a_post_from_request_to_reader(embedded_web):
    gql = OverHttp(embedded_web.url)
    token, *_ = chatter("embeddedmetrics")
    reader, op_id = subscribed_reader(embedded_web, token)
    with reader:
        before = scrape(embedded_web)
        posted(gql, token, "counted embedded")
        assert reader.next_payload(op_id)["postCreated"]["body"] == "counted embedded"
        after = wait_until(lambda: scraped_once(embedded_web, before, STAGE_RUNS, stage="new.post.accepted"), 10, "the stage")
        assert value(after, "chat_web_websocket_connections_subscriptions") == 1
    wait_until(  # the reader gone, nothing is left counted as open
        lambda: value(now := scrape(embedded_web), "chat_web_websocket_connections_open") == 0
        and value(now, "chat_web_websocket_connections_subscriptions") == 0,
        10, "the connection and its subscription to be given back",
    )
    assert moved(before, after, "chat_posts_requested_total") == 1
    assert moved(before, after, "chat_stage_seconds_count", stage="new.post.accepted") == 1
    assert moved(before, after, "chat_group_messages_sent_total", event=CREATED) == 1
    assert moved(before, after, "chat_group_messages_received_total") >= 1
    assert moved(before, after, "chat_subscription_events_sent_total") >= 1
    assert not any(name == "chat_queue_messages" for name, _ in after)  # no broker, no queues


def test_a_web_whose_metrics_port_is_taken_stops_at_start_saying_so(stack_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        web = Web(embedded_env(stack_env), label="metrics-port-taken")
        web.env["METRICS_PORT"] = str(taken.getsockname()[1])
        web.start()
        try:
            wait_until(lambda: not web.alive(), 60, "the web to stop")
        finally:
            web.stop()
    assert "METRICS_PORT" in web.log() and "Address already in use" in web.log()


@shared_task(name="test.metrics.always_fails", autoretry_for=(DatabaseError,), max_retries=2, default_retry_delay=0)
def always_fails():
    raise DatabaseError("the database refuses")


def test_a_stage_that_keeps_failing_counts_each_retry_and_its_failure_for_good():
    retries, failures = STAGE_RETRIES.labels(always_fails.name), STAGE_FAILURES.labels(always_fails.name)
    before = retries._value.get(), failures._value.get()
    assert always_fails.apply().state == "FAILURE"  # as a worker runs it, in this process
    assert (retries._value.get() - before[0], failures._value.get() - before[1]) == (2, 1)

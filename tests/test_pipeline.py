"""The pipeline on the full stack: Procfile processes on RabbitMQ (and PostgreSQL in CI)."""
import time
import uuid
from datetime import datetime, timedelta, timezone

import jwt
import msgpack
import pytest
from celery import Celery
from kombu import Connection, Exchange, Queue, binding

from chatsite.celery import app as chat_app
from posts.models import Post, PostRequest
from posts.modes import BACKLOG_CHECK_SECONDS
from posts.public_ids import public_post_id
from posts.room_tokens import issue_room_token
from tests.clients import OverHttp, error_code, sign_up
from tests.helpers import create_post, posted, stored_post
from tests.stack import Web, wait_until

pytestmark = [pytest.mark.fullstack, pytest.mark.django_db(transaction=True)]


class GroupTap:
    """Listens on the channel layer's `groups` exchange, as a web process would."""

    def __init__(self, amqp_url, *groups):
        self.connection = Connection(amqp_url)
        exchange = Exchange("groups", type="direct", durable=False)
        self.queue = Queue(
            f"tap-{uuid.uuid4().hex}",
            bindings=[binding(exchange, routing_key=group) for group in groups],
            exclusive=True,
            auto_delete=True,
        )(self.connection.channel())
        self.queue.declare()

    def next(self, timeout=15):
        def arrived():
            message = self.queue.get(no_ack=True)
            return message and msgpack.unpackb(message.body)

        return wait_until(arrived, timeout, "a group message")

    def nothing_more(self):
        return self.queue.get(no_ack=True) is None

    def close(self):
        self.connection.release()


@pytest.fixture
def tap(full_stack):
    taps = []

    def open_tap(*groups):
        taps.append(GroupTap(full_stack.amqp_url, *groups))
        return taps[-1]

    yield open_tap
    for t in taps:
        t.close()


@pytest.fixture
def stage_sender(full_stack):
    """Publishes stage messages straight to the broker, as a stage or a redelivery would."""
    probe = Celery("probe", broker=full_stack.amqp_url)
    probe.conf.update(task_queues=chat_app.conf.task_queues, task_routes=chat_app.conf.task_routes)
    yield lambda stage, **kwargs: probe.send_task(stage, kwargs=kwargs)
    probe.close()


@pytest.fixture
def web1(full_stack, general):
    return OverHttp(full_stack.web1.url)


def posts_waiting(amqp_url):
    """Messages ready on the `posts` queue, as the broker counts them."""
    with Connection(amqp_url) as connection:
        return connection.default_channel.queue_declare("posts", passive=True).message_count


def test_a_post_is_stored_and_its_group_message_sent(full_stack, web1, tap):
    token, user_id, username = sign_up(web1)
    room_tap = tap("room.general")
    request_id = posted(web1, token, "through the whole pipeline")

    post = stored_post(request_id)
    assert (post.body, post.author, post.is_bot, post.room_id) == ("through the whole pipeline", username, False, "general")
    message = room_tap.next()
    assert message["type"] == "new.post.created"
    assert message["post"]["id"] == public_post_id(post.pk) and message["post"]["body"] == "through the whole pipeline"


def test_each_stage_logs_the_request_id_and_no_post_text(full_stack, web1):
    token, _, _ = sign_up(web1)
    text = f"follow {uuid.uuid4().hex[:12]}"  # nowhere in any log: people's posts stay out of them
    request_id = posted(web1, token, text)
    stored_post(request_id)
    quote_id = posted(web1, token, "/stock=aapl.us")
    stored_post(quote_id)

    def stages(rid):
        lines = [line for line in full_stack.logs().splitlines() if rid in line]
        return {line.split("stage=")[1].split()[0] for line in lines if "stage=" in line}

    wait_until(lambda: "new.post.created" in stages(request_id), 10, "the fan-out log line")
    assert stages(request_id) == {"createPost", "new.post.requested", "new.post.accepted", "new.post.created"}
    wait_until(lambda: "new.post.created" in stages(quote_id), 10, "the fan-out log line")
    assert stages(quote_id) == {
        "createPost",
        "new.post.requested",
        "bot.command.received",
        "bot.post.request",
        "new.post.accepted",
        "new.post.created",
    }
    assert text not in full_stack.logs()


def test_stock_command_ends_as_the_bots_quote(full_stack, web1, tap):
    token, _, _ = sign_up(web1)
    room_tap = tap("room.general")
    request_id = posted(web1, token, "/stock=aapl.us")

    quote = stored_post(request_id)
    assert quote.body == "AAPL.US quote is $93.42 per share"
    assert (quote.author, quote.is_bot, quote.user_id) == ("StockBot", True, None)
    assert room_tap.next()["post"]["body"] == "AAPL.US quote is $93.42 per share"
    assert not Post.objects.filter(body="/stock=aapl.us").exists()


def test_every_command_runs_on_the_bots_queue_through_the_room_token(full_stack, web1):
    token, _, _ = sign_up(web1)
    request_id = posted(web1, token, "/time=America/New_York")
    answer = stored_post(request_id)
    assert answer.body.startswith("Time in America/New_York: ") and (answer.author, answer.is_bot) == ("StockBot", True)
    assert f"stage=bot.command.received request_id={request_id}" in full_stack.logs()
    assert not Post.objects.filter(body__startswith="/time").exists()


BOT_ERRORS = [
    ("/stock=nope.us", "No quote found"),
    ("/stock=", "needs a code"),
    ("/stock=html.us", "did not send a quote"),
    ("/stock=limit.us", "did not send a quote"),
    ("/stock=empty.us", "empty answer"),
    ("/stock=short.us", "malformed"),
    ("/stock=oops.us", "HTTP 500"),
    ("/stock=slow.us", "took too long"),
    ("/foo", "Unknown command '/foo'. Commands: /help, /stock=<code>, /time <zone>"),
    ("/time Mars/Olympus", "is not a time zone"),
    ("/help", "/time <zone>: the time now in a time zone"),
]


@pytest.mark.parametrize("body, reason", BOT_ERRORS, ids=[b for b, _ in BOT_ERRORS])
def test_bot_error_goes_to_the_requester_alone_and_stores_nothing(full_stack, web1, tap, body, reason):
    token, user_id, _ = sign_up(web1)
    _, other_id, _ = sign_up(web1)
    user_tap, room_tap, other_tap = tap(f"user.{user_id}"), tap("room.general"), tap(f"user.{other_id}")
    request_id = posted(web1, token, body)

    message = user_tap.next()
    assert message["type"] == "new.post.error.notify"
    assert message["error"] == {
        "request_id": request_id,
        "room_id": "general",
        "user_id": user_id,
        "body": body,
        "reason": message["error"]["reason"],
    }
    assert reason in message["error"]["reason"]
    assert not Post.objects.exists()
    assert room_tap.nothing_more() and other_tap.nothing_more()


def test_a_stage_delivered_twice_stores_one_post(full_stack, web1, stage_sender):
    token, user_id, _ = sign_up(web1)
    request_id = str(uuid.uuid4())
    # As createPost records it before the pipeline sees it.
    PostRequest.objects.create(request_id=request_id, user_id=int(user_id), room_id="general", body="twice")
    for _ in range(2):
        stage_sender("new.post.accepted", request_id=request_id, room_id="general", user_id=int(user_id), body="twice")
    def both_deliveries_done():
        lines = [line for line in full_stack.posts_worker.log().splitlines() if f"stage=new.post.accepted request_id={request_id} " in line]
        # The worker runs both at once (threads): either may log first.
        return len(lines) == 2 and sum("already stored" in line for line in lines) == 1

    wait_until(both_deliveries_done, 20, "both deliveries, one stored and one found stored")
    assert Post.objects.filter(request_id=request_id).count() == 1


def _tampered(token):
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["room"] = "elsewhere"
    forged_payload = jwt.utils.base64url_encode(jwt.utils.force_bytes(__import__("json").dumps(claims))).decode()
    return f"{header}.{forged_payload}.{signature}"


def test_forged_tampered_or_expired_room_tokens_store_nothing(full_stack, web1, stage_sender, settings):
    token, user_id, _ = sign_up(web1)
    claims = dict(request_id=uuid.uuid4(), room_id="general", user_id=user_id)
    forged = jwt.encode(
        {"aud": "chat:room-token", "rid": str(uuid.uuid4()), "room": "general", "sub": user_id,
         "exp": datetime.now(timezone.utc) + timedelta(minutes=5)},
        "not the server's key but long enough to sign with",
        algorithm="HS256",
    )
    tampered = _tampered(issue_room_token(**claims))
    expired = issue_room_token(
        request_id=uuid.uuid4(), room_id="general", user_id=user_id,
        now=datetime.now(timezone.utc) - timedelta(minutes=5, seconds=1),
    )
    unsigned = jwt.encode({"rid": str(uuid.uuid4()), "room": "general", "sub": user_id}, None, algorithm="none")
    for bad in (forged, tampered, expired, unsigned):
        stage_sender("bot.post.request", room_token=bad, body="AAPL.US quote is $1 per share")
    # A genuine token, sent last on the same queue, proves the stage ran for the others too.
    genuine_id = uuid.uuid4()
    stage_sender("bot.post.request", room_token=issue_room_token(request_id=genuine_id, room_id="general", user_id=user_id),
                 body="genuine quote")
    post = stored_post(genuine_id)
    assert post.body == "genuine quote" and post.is_bot
    wait_until(lambda: full_stack.posts_worker.log().count("refused: room token") >= 4, 10, "four refusals")
    assert list(Post.objects.values_list("body", flat=True)) == ["genuine quote"]


def test_a_broker_that_cannot_take_the_post_is_unavailable_and_stores_nothing(full_stack, general, stack_env):
    dead = Web({**stack_env, "AMQP_URL": "amqp://guest:guest@127.0.0.1:1"}, label="web-deadbroker").start()
    try:
        dead.wait_ready()
        gql = OverHttp(dead.url)
        token, _, _ = sign_up(gql)
        result = create_post(gql, token, "lost?", client_id="retry-me")
        assert error_code(result) == "UNAVAILABLE"
        assert "Traceback" not in str(result) and "amqp" not in str(result).lower()
        assert not PostRequest.objects.exists() and not Post.objects.exists()

        # The same clientId, retried where the broker is up, is stored once.
        live = OverHttp(full_stack.web1.url)
        stored_post(posted(live, token, "lost?", client_id="retry-me"))
        assert Post.objects.count() == 1
    finally:
        dead.stop()


def test_a_worker_killed_mid_stream_loses_no_post_and_stores_none_twice(full_stack, web1):
    full_stack.posts_worker.kill()  # posts queue up while no worker runs
    users = [sign_up(web1)[0] for _ in range(6)]
    request_ids = [posted(web1, users[n % 6], f"burst {n}") for n in range(60)]
    assert not Post.objects.exists()

    doomed = full_stack.worker("worker")
    wait_until(lambda: " stored" in doomed.log(), 60, "the first stored post")
    doomed.kill()  # in the middle of the queue, with tasks taken and not yet acknowledged
    stored_before_kill = Post.objects.count()
    assert 0 < stored_before_kill < 60, "the worker must die mid-stream for this test to mean anything"

    full_stack.posts_worker = full_stack.worker("worker")
    full_stack.posts_worker.wait_ready()
    wait_until(lambda: Post.objects.filter(request_id__in=request_ids).count() == 60, 60, "all 60 posts")
    time.sleep(1)  # a redelivered duplicate would land now
    assert Post.objects.count() == 60
    assert sorted(Post.objects.values_list("body", flat=True)) == sorted(f"burst {n}" for n in range(60))


def test_past_the_backlog_limit_createpost_is_unavailable_and_nothing_accepted_is_lost(full_stack, general, stack_env):
    """Overload is answered, not queued for minutes: with no worker taking posts, the queue
    grows past PIPELINE_MAX_BACKLOG and createPost answers UNAVAILABLE (HTTP 200, quickly);
    every post it accepted is stored once a worker is back."""
    full_stack.posts_worker.kill()
    guarded = Web({**stack_env, "AMQP_URL": full_stack.amqp_url, "PIPELINE_MAX_BACKLOG": "3"}, label="web-backlog").start()
    try:
        guarded.wait_ready()
        gql = OverHttp(guarded.url)
        token, _, _ = sign_up(gql)
        outcomes = {}
        waiting = posts_waiting(full_stack.amqp_url)
        for n in range(8):
            result = create_post(gql, token, f"queued {n}")
            answered = time.monotonic()
            outcomes[n] = result["data"]["createPost"]["requestId"] if "errors" not in result else error_code(result)
            # Each post sees the queue as it is: the broker counts the post just accepted, and
            # the web process's figure (asked of the broker at most every BACKLOG_CHECK_SECONDS,
            # before this answer) is renewed.
            waiting += "errors" not in result
            wait_until(lambda: posts_waiting(full_stack.amqp_url) == waiting, 10, "the broker to count the accepted posts")
            wait_until(lambda: time.monotonic() - answered > BACKLOG_CHECK_SECONDS, 5, "the backlog figure to be renewed")
        accepted = {n: rid for n, rid in outcomes.items() if rid != "UNAVAILABLE"}
        assert set(outcomes.values()) - set(accepted.values()) == {"UNAVAILABLE"}, outcomes
        assert 3 <= len(accepted) <= 5, outcomes
        assert max(accepted) < min(n for n in outcomes if n not in accepted), "refusals start at the limit"
    finally:
        guarded.stop()
        full_stack.posts_worker = full_stack.worker("worker")
        full_stack.posts_worker.wait_ready()
    wait_until(lambda: Post.objects.count() == len(accepted), 30, "every accepted post")
    time.sleep(1)  # a redelivered duplicate would land now
    assert sorted(Post.objects.values_list("body", flat=True)) == sorted(f"queued {n}" for n in accepted)

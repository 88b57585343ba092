"""Messages no worker can run, and a stage that fails for good, while people post.

A poison message (not JSON, not ours, no task, an unknown task, missing fields) on the
`posts` queue is logged by its headers and size, set aside in the `dead-letters` queue, and
the worker goes on. A post whose store fails every time (here PostgreSQL refuses it through a
CHECK constraint, as it would a corrupt row) ends in a postError to its requester with the
text they sent, and the text never reaches a log.
"""
import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from kombu import Connection, Exchange, Producer

from posts.models import Post, PostRequest
from tests.clients import OverHttp, Socket
from tests.faults.conftest import make_room, make_users
from tests.faults.harness import POST_ERROR, Reader, Traffic, reckon
from tests.helpers import posted
from tests.stack import wait_until

pytestmark = [pytest.mark.fullstack, pytest.mark.django_db(transaction=True)]


def celery_message(task, kwargs):
    """A message as Celery's protocol 2 writes one: the task in the headers, [args, kwargs, embed]."""
    task_id = str(uuid.uuid4())
    headers = {"lang": "py", "task": task, "id": task_id, "root_id": task_id, "parent_id": None, "retries": 0}
    body = json.dumps([[], kwargs, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    return body, headers


def dead_letters(amqp_url):
    with Connection(amqp_url) as conn:
        return conn.default_channel.queue_declare("dead-letters", passive=True).message_count


def test_poison_messages_are_set_aside_and_the_worker_goes_on(start_stack):
    stack = start_stack()
    room_id = make_room()
    users = make_users(3)
    someone = get_user_model().objects.get(username=users[0][0]).pk
    poison = [
        # (what it is, body, content type, headers)
        ("not JSON", "{this is not json", "application/json", None),
        ("a content type we don't take", "hello", "text/plain", None),
        ("no task header", json.dumps({"request_id": "1"}), "application/json", {}),
        ("an unknown task", *celery_message("posts.drop_tables", {}), ),
        ("missing fields", *celery_message("new.post.accepted", {"request_id": "not-a-uuid"})),
        ("a stage for a request that never was", *celery_message(
            "new.post.accepted", {"request_id": str(uuid.uuid4()), "room_id": room_id, "user_id": someone, "body": "x"})),
    ]
    with Reader(stack.web2, users[0][1], room_id) as reader, Traffic([stack.web1, stack.web2], room_id, users) as traffic:
        traffic.wait_for(6)
        with Connection(stack.amqp_url) as conn:
            producer = Producer(conn.default_channel, exchange=Exchange("posts", type="direct", durable=True))
            for _, body, *rest in poison:
                if len(rest) == 2:  # body, content type, headers
                    content_type, headers = rest
                else:  # celery_message: body, headers
                    content_type, headers = "application/json", rest[0]
                producer.publish(body, routing_key="posts", content_type=content_type, content_encoding="utf-8",
                                 headers=headers or {}, serializer=None)
        traffic.wait_for(10)
        reckon(traffic, [reader], room_id)
    assert stack.posts_worker.alive()

    # Five set aside; the last (well formed, for no request) was run and dropped by the rules.
    wait_until(lambda: dead_letters(stack.amqp_url) == 5, 20, "five messages in dead-letters")
    # The sixth waits up to 5 s for createPost's commit, then is dropped.
    log = wait_until(lambda: "dropped: createPost never committed it" in stack.posts_worker.log()
                     and stack.posts_worker.log(), 20, "the sixth message to be dropped")
    assert log.count("set aside in dead-letters") == 4, log[-3000:]  # the fifth failed as a task
    assert "request_id=not-a-uuid failed for good: TypeError" in log
    assert "this is not json" not in log, "a set-aside message's body must not be logged"


@pytest.fixture
def refusing_store():
    """PostgreSQL refuses any post containing 'cursed', every time, as it would a bad row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE posts_post ADD CONSTRAINT fault_cursed CHECK (body NOT LIKE '%%cursed%%') NOT VALID"
        )
    yield
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE posts_post DROP CONSTRAINT IF EXISTS fault_cursed")


def test_a_stage_that_fails_for_good_ends_in_post_error_and_keeps_the_text_out_of_the_logs(start_stack, refusing_store):
    stack = start_stack()
    room_id = make_room()
    users = make_users(4)
    (_, victim_token), others = users[0], users[1:]
    secret = f"cursed secret {uuid.uuid4().hex}"
    with Reader(stack.web1, victim_token, room_id) as reader, Traffic([stack.web1, stack.web2], room_id, others) as traffic:
        with Socket(stack.web2.ws_url).init(victim_token) as ws:
            ws.subscribe(POST_ERROR, op_id="e")
            traffic.wait_for(3)
            request_id = posted(OverHttp(stack.web1.url), victim_token, secret, room_id)  # accepted: the pipeline has it
            # Two retries (1 s, 2 s in this stack), then the requester is told.
            frame = ws.recv(timeout=30)
        traffic.wait_for(5)
        reckon(traffic, [reader], room_id)
    assert frame["type"] == "next", frame
    error = frame["payload"]["data"]["postError"]
    assert error["requestId"] == request_id
    assert error["body"] == secret
    assert "send it again" in error["reason"]

    assert not Post.objects.filter(body=secret).exists()
    assert PostRequest.objects.get(request_id=request_id).state == PostRequest.State.FAILED
    assert dead_letters(stack.amqp_url) == 1, "the failed stage's message is set aside"
    log = stack.logs()
    assert "fault_cursed" in log and f"request_id={request_id} given up" in log
    assert secret.split()[-1] not in log, "the post's text reached a log"

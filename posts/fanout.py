"""Group messages to every web process, from a Celery task or from the web process itself.

Full stack: channels_rabbitmq's own layer must not be driven from Celery, so we publish to
its `groups` exchange through Celery's producer pool, as its README documents. Embedded:
the in-memory layer of the one web process. Group messages are at most once; the database
is the record, and subscribers resume with `postCreated(input: {after})`.
"""
import logging

import msgpack
from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import get_channel_layer
from django.conf import settings
from kombu import Exchange

from posts import events

log = logging.getLogger("posts.fanout")

# Declared exactly as channels_rabbitmq declares it (direct, not durable).
GROUPS_EXCHANGE = Exchange(settings.GROUPS_EXCHANGE, type="direct", durable=False, auto_delete=False)


def post_created(*, post, request_id):
    _send_to_group(*events.post_created(post, request_id))


def post_changed(*, change):
    _send_to_group(*events.post_changed(change))


def post_error(*, error):
    _send_to_group(*events.post_error(error))


def read_state(*, user_id, read):
    _send_to_group(*events.read_state(user_id, read))


def typing(*, who):
    _send_to_group(*events.typing(who))


def presence(*, snapshot):
    _send_to_group(*events.presence(snapshot))


def user_deactivated(*, user_id):
    """Every open connection of that user, on every web process, closes with 4403."""
    _send_to_group(*events.user_deactivated(user_id))


def _send_to_group(group, message):
    try:
        if settings.EMBEDDED:
            async_to_sync(get_channel_layer().group_send)(group, message)
        else:
            with current_app.producer_pool.acquire(block=True, timeout=5) as producer:
                producer.publish(
                    msgpack.packb({"__asgi_group__": group, **message}),
                    exchange=GROUPS_EXCHANGE,
                    declare=[GROUPS_EXCHANGE],
                    routing_key=group,
                    content_encoding="binary",
                    retry=True,
                    retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
                )
    except Exception:
        # At most once by design: the post is stored; clients catch up from the database.
        log.exception("stage=%s request_id=%s group=%s fan-out failed", message["type"], message.get("request_id"), group)
        return
    log.info("stage=%s request_id=%s group=%s sent", message["type"], message.get("request_id"), group)

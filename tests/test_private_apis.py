"""Fences around what the chat takes from its libraries' insides: each test fails on the
upgrade that moves or reshapes it, naming what then breaks. The behaviour itself is proven
elsewhere (named in each test); these say *why* it broke."""
import inspect

import pytest


def params(function):
    return list(inspect.signature(function).parameters)


def test_websockets_still_fails_an_oversized_message_through_server_protocol_fail():
    """chatsite/asgi.py turns websockets' 1009 into the contract's 4400 by wrapping
    `ServerProtocol.fail(code, reason)` (behaviour: tests/test_websocket.py, frames over 64 KB)."""
    from websockets.frames import CloseCode
    from websockets.server import ServerProtocol

    assert params(ServerProtocol.fail)[:3] == ["self", "code", "reason"]
    assert CloseCode.MESSAGE_TOO_BIG == 1009
    import chatsite.asgi  # noqa: F401  (applies the patch)

    assert getattr(ServerProtocol, "closes_oversize_with_4400", False)


def test_uvicorn_still_has_the_parser_failure_hook_and_the_fields_the_patch_uses():
    """chatsite/asgi.py replaces `WebSocketsSansIOProtocol.handle_parser_exception` and uses
    its `conn`, `queue`, `transport`, `loop`, `close_sent` and `close_timer`."""
    from uvicorn.protocols.websockets import websockets_sansio_impl
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    assert params(WebSocketsSansIOProtocol.handle_parser_exception) == ["self"]
    source = inspect.getsource(websockets_sansio_impl)
    for field in ("self.conn", "self.queue", "self.transport", "self.loop", "self.close_sent", "self.close_timer"):
        assert field in source, f"uvicorn's sans-I/O protocol no longer has {field}: chatsite/asgi.py's patch breaks"
    # A send on a closed connection: the transport treats this RuntimeError as "closed".
    assert "RuntimeError" in source or "ClientDisconnected" in source


def test_channels_rabbitmq_still_keeps_its_local_groups_where_health_reads_them():
    """chatsite/health.py counts a process's group memberships from channels_rabbitmq's
    `_multi_queue._local_groups` (behaviour: tests/test_websocket.py, no memberships left
    behind after a thousand connections)."""
    from channels_rabbitmq.core import RabbitmqChannelLayer
    from channels_rabbitmq import multiqueue

    source = inspect.getsource(RabbitmqChannelLayer)
    assert "_multi_queue" in source
    assert "_local_groups" in inspect.getsource(multiqueue)


def test_channels_rabbitmq_still_reads_its_host_at_each_connection_attempt():
    """chatsite/layer.py moves the layer to the next node of a cluster by making `host` a
    property that returns the next URL each time it is read: once per connection attempt
    (behaviour: tests/faults/test_cluster.py, the web processes' node SIGKILLed)."""
    from channels_rabbitmq.core import RabbitmqChannelLayer

    source = inspect.getsource(RabbitmqChannelLayer)
    assert source.count("self.host") == 2, "set once in __init__, read once in _reconnect_forever"
    assert "url=self.host" in inspect.getsource(RabbitmqChannelLayer._reconnect_forever)


def test_celery_still_has_the_delayed_delivery_step_chatsite_leaves_out():
    """chatsite/celery.py's consumer leaves out Celery's native delayed delivery by its step
    name (it would declare 28 quorum queues and can't serve direct exchanges)."""
    from celery.worker.consumer import Consumer

    from chatsite.celery import SettingAsideConsumer

    assert "celery.worker.consumer.delayed_delivery:DelayedDelivery" in Consumer.Blueprint.default_steps
    assert not any("DelayedDelivery" in step for step in SettingAsideConsumer.Blueprint.default_steps)


@pytest.mark.parametrize(
    "hook, arguments",
    [
        ("on_decode_error", ["self", "message", "exc"]),
        ("on_invalid_task", ["self", "body", "message", "exc"]),
        ("on_unknown_message", ["self", "body", "message"]),
        ("on_unknown_task", ["self", "body", "message", "exc"]),
    ],
)
def test_celerys_consumer_still_calls_the_hooks_that_set_poison_messages_aside(hook, arguments):
    """chatsite/celery.py's SettingAsideConsumer overrides these (behaviour:
    tests/faults/test_poison_and_give_up.py)."""
    from celery.worker.consumer import Consumer

    assert params(getattr(Consumer, hook)) == arguments

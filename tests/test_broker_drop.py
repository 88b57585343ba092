"""RabbitMQ drops every connection: web processes keep serving, reconnect and re-join."""
import json
import subprocess
from urllib.parse import unquote, urlsplit

import pytest
import requests
from websockets.sync.client import connect

from tests.clients import CREATE_POST, OverHttp, sign_up
from tests.stack import wait_until

pytestmark = [pytest.mark.fullstack, pytest.mark.django_db(transaction=True)]

SUBSCRIBE = 'subscription { postCreated(input: {roomId: "general"}) { body } }'


def vhost_of(amqp_url):
    return unquote(urlsplit(amqp_url).path.lstrip("/"))


def bindings(vhost):
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_bindings", "-p", vhost, "source_name", "routing_key"],
        capture_output=True, text=True, timeout=30,
    ).stdout
    return {tuple(line.split("\t")) for line in listed.splitlines()}


def test_web_process_survives_a_broker_drop_and_rejoins_its_groups(full_stack, general):
    web1, web2 = OverHttp(full_stack.web1.url), full_stack.web2
    token, _, _ = sign_up(web1)
    vhost = vhost_of(full_stack.amqp_url)
    with connect(web2.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"type": "subscribe", "id": "s", "payload": {"query": SUBSCRIBE}}))
        wait_until(lambda: ("groups", "room.general") in bindings(vhost), 20, "web2 to bind room.general")

        dropped = subprocess.run(
            ["rabbitmqctl", "close_all_connections", "--vhost", vhost, "test: broker drop"],
            capture_output=True, text=True, timeout=30,
        )
        assert dropped.returncode == 0, dropped.stderr
        # HTTP keeps working while the layer is away.
        assert requests.get(f"{web2.url}/healthz/", timeout=5).json()["status"] == "ok"

        # The layer reconnects by itself, redeclares its queue and binds the group again.
        wait_until(lambda: ("groups", "room.general") in bindings(vhost), 30, "web2 to re-bind room.general")
        # The worker and web1's publisher reconnect too: the post goes the whole way again.
        def post_arrives():
            result = web1(CREATE_POST, {"input": {"roomId": "general", "body": "after the drop"}}, token=token)
            return "errors" not in result

        wait_until(post_arrives, 30, "createPost to be accepted again")
        frame = json.loads(ws.recv(timeout=30))
        assert frame["type"] == "next"
        assert frame["payload"]["data"]["postCreated"]["body"] == "after the drop"

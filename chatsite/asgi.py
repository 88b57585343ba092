"""HTTP goes to Django; the WebSocket at /graphql/ goes to the GraphQL consumer."""
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from chatsite.ws_protocol import CLOSE_BAD_REQUEST  # noqa: E402
from posts.consumers import ChatConsumer  # noqa: E402
from posts.embedded import CaptureServerLoop  # noqa: E402


class BrowserOriginValidator(OriginValidator):
    """Refuse browsers from origins outside ALLOWED_HOSTS. Clients that are not browsers
    send no Origin (and can't be tricked into cross-site requests), so they pass."""

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or super().valid_origin(parsed_origin)


def close_oversized_messages_with_4400():
    """Messages over the server's own limit never reach the consumer (which closes with 4400
    for anything over 64 KB): daphne's autobahn drops the TCP connection (the client sees
    1006), uvicorn's websockets closes with 1009. The contract's 4400 must hold for every
    frame over 64 KB, so they close with 4400 instead, through each library's hook for
    exactly this (the rest of the message is still discarded)."""
    ws_protocol = sys.modules.get("daphne.ws_protocol")
    if ws_protocol is not None:

        def refuse(self, msg_size, max_msg_size, reason):
            self.failByDrop = False  # send a close frame rather than drop the TCP connection
            self._fail_connection(*CLOSE_BAD_REQUEST)

        ws_protocol.WebSocketProtocol._max_message_size_exceeded = refuse

    # uvicorn's `--ws websockets-sansio`: a message over --ws-max-size makes the websockets
    # protocol fail the connection with 1009; the contract says 4400.
    sansio = sys.modules.get("uvicorn.protocols.websockets.websockets_sansio_impl")
    if sansio is not None and not getattr(sansio.ServerProtocol, "closes_oversize_with_4400", False):

        class ServerProtocol(sansio.ServerProtocol):
            closes_oversize_with_4400 = True

            def fail(self, code, reason=""):
                if code == 1009:  # CloseCode.MESSAGE_TOO_BIG
                    code, reason = CLOSE_BAD_REQUEST
                return super().fail(code, reason)

        sansio.ServerProtocol = ServerProtocol


close_oversized_messages_with_4400()

# CaptureServerLoop: the embedded pipeline starts its stages from the server's event loop.
application = CaptureServerLoop(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": BrowserOriginValidator(
                AuthMiddlewareStack(URLRouter([path("graphql/", ChatConsumer.as_asgi())])),
                settings.ALLOWED_HOSTS,
            ),
        }
    )
)

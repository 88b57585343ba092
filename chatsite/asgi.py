"""HTTP goes to Django (chatsite/http.py); the WebSocket at /graphql/ goes to the GraphQL consumer."""
import os
from urllib.parse import urlsplit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

import django  # noqa: E402

django.setup(set_prefix=False)

from chatsite.http import OneHopHTTP  # noqa: E402

django_http = OneHopHTTP()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator, WebsocketDenier  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol  # noqa: E402
from websockets.server import ServerProtocol  # noqa: E402

from chatsite.ws_protocol import CLOSE_BAD_REQUEST  # noqa: E402
from posts.consumers import ChatConsumer  # noqa: E402
from chatsite.retention import SweepsInEmbeddedMode  # noqa: E402
from posts.embedded import CaptureServerLoop  # noqa: E402


class BrowserOriginValidator(OriginValidator):
    """Refuse browsers from origins outside ALLOWED_HOSTS, host and port: a page served by
    another port of an allowed host (another app on the same machine) is another origin.
    Clients that are not browsers send no Origin (and can't be tricked into cross-site
    requests), so they pass."""

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        host_header = headers.get(b"host", b"").decode("latin1").lower()
        origin = headers.get(b"origin")
        if origin is not None and not self.same_host_and_port(origin.decode("latin1"), host_header):
            return await WebsocketDenier()(scope, receive, send)
        return await super().__call__(scope, receive, send)

    @staticmethod
    def same_host_and_port(origin, host_header):
        """The Origin's port is the one the browser connected to (the Host header's; the
        scheme's default when neither names one, as behind a TLS proxy on 443)."""
        try:
            origin_parts, host_parts = urlsplit(origin), urlsplit("//" + host_header)
            default = {"http": 80, "https": 443}.get(origin_parts.scheme)
            return default is not None and (origin_parts.port or default) == (host_parts.port or default)
        except ValueError:  # a port that isn't a number
            return False

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or super().valid_origin(parsed_origin)


CLOSE_AFTER_FAILURE_SECONDS = 1


def close_oversized_messages_with_4400():
    """A message over uvicorn's --ws-max-size never reaches the consumer (which closes with
    4400 for anything over 64 KB): the websockets protocol fails the connection with 1009.
    The contract's 4400 must hold for every frame over 64 KB, so a server connection of this
    process closes with 4400 instead (the rest of the message is still discarded). Patched on
    websockets' own class, whatever imported it first."""
    if getattr(ServerProtocol, "closes_oversize_with_4400", False):
        return
    fail = ServerProtocol.fail

    def fail_with_4400(self, code, reason=""):
        if code == 1009:  # CloseCode.MESSAGE_TOO_BIG
            code, reason = CLOSE_BAD_REQUEST
        return fail(self, code, reason)

    ServerProtocol.fail = fail_with_4400
    ServerProtocol.closes_oversize_with_4400 = True

    # uvicorn then closes the TCP connection at once; a client still sending the rest of its
    # message gets a reset, which can destroy the close frame before it is read (1006, not
    # 4400). Keep discarding what it sends for a moment, so it reads the close frame first.
    def fail_connection_after_close_frame(self):
        code, reason = self.conn.close_sent.code, self.conn.close_sent.reason
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.close_timer = self.loop.call_later(CLOSE_AFTER_FAILURE_SECONDS, self.transport.close)

    WebSocketsSansIOProtocol.handle_parser_exception = fail_connection_after_close_frame


close_oversized_messages_with_4400()

# CaptureServerLoop: the embedded pipeline starts its stages from the server's event loop.
# SweepsInEmbeddedMode: the server's lifespan; embedded, the process sweeps old rows.
application = SweepsInEmbeddedMode(CaptureServerLoop(
    ProtocolTypeRouter(
        {
            "http": django_http,
            "websocket": BrowserOriginValidator(
                AuthMiddlewareStack(URLRouter([path("graphql/", ChatConsumer.as_asgi())])),
                settings.ALLOWED_HOSTS,
            ),
        }
    )
))

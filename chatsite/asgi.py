"""HTTP goes to Django; the WebSocket at /graphql/ goes to the GraphQL consumer."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from posts.consumers import GraphQLConsumer  # noqa: E402


class BrowserOriginValidator(OriginValidator):
    """Refuse browsers from origins outside ALLOWED_HOSTS. Clients that are not browsers
    send no Origin (and can't be tricked into cross-site requests), so they pass."""

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or super().valid_origin(parsed_origin)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(
            AuthMiddlewareStack(URLRouter([path("graphql/", GraphQLConsumer.as_asgi())])),
            settings.ALLOWED_HOSTS,
        ),
    }
)

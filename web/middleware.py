"""A Content-Security-Policy of our own: no inline script, no framing, same-origin only.

Every page gets it, GraphiQL at GET /graphql/ included: its assets are our static files
and it has no inline script (templates/graphene/graphiql.html). Its CSS embeds its fonts
as data: URLs, hence `font-src data:`.
"""
from django.core.exceptions import DisallowedHost


def policy(request):
    try:
        host = request.get_host()
        sockets = f" ws://{host} wss://{host}"
    except DisallowedHost:
        sockets = ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            # 'self' covers same-origin ws:// only in newer browsers; name it for the rest.
            f"connect-src 'self'{sockets}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy(request))
        return response

"""simplejwt's token endpoints, answered by the same rules as the `login` and
`refreshToken` mutations (`services.log_in` with its throttles; `services.refresh_tokens`
with rotation), so there is one place for each rule."""
import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import services
from chatsite.errors import ChatError


def _fields(request, *names):
    try:
        data = json.loads(request.body) if request.content_type == "application/json" else request.POST
    except (ValueError, RecursionError):
        return None
    if not hasattr(data, "get"):
        return None
    values = [data.get(name) for name in names]
    return values if all(isinstance(v, str) and v for v in values) else None


@csrf_exempt  # credentials in the body, no session
@require_POST
def obtain_token(request):
    """POST {"username", "password"} -> {"access": ..., "refresh": ...}."""
    fields = _fields(request, "username", "password")
    if fields is None:
        return JsonResponse({"detail": "username and password are required."}, status=400)
    try:
        user = services.log_in(username=fields[0], password=fields[1], client=request.META.get("REMOTE_ADDR"))
    except ChatError as error:
        status = 429 if error.code == "RATE_LIMITED" else 401
        return JsonResponse({"detail": error.message, "code": error.code.lower()}, status=status)
    tokens = services.issue_tokens(user)
    return JsonResponse({"access": tokens["access_token"], "refresh": tokens["refresh_token"]})


@csrf_exempt  # a token, not a session, authenticates this request
@require_POST
def refresh_token(request):
    """POST {"refresh": "<token>"} (JSON or a form) -> {"access": ..., "refresh": ...}."""
    fields = _fields(request, "refresh")
    if fields is None:
        return JsonResponse({"refresh": ["This field is required."]}, status=400)
    try:
        tokens = services.refresh_tokens(fields[0])
    except ChatError as error:
        return JsonResponse({"detail": error.message, "code": "token_not_valid"}, status=401)
    return JsonResponse({"access": tokens["access_token"], "refresh": tokens["refresh_token"]})

"""simplejwt's token refresh endpoint, answered by the same rule as the refreshToken
mutation (`services.refresh_tokens`: rotation, one use, an active user), in one place."""
import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import services
from chatsite.errors import ChatError


@csrf_exempt  # a token, not a session, authenticates this request
@require_POST
def refresh_token(request):
    """POST {"refresh": "<token>"} (JSON or a form) -> {"access": ..., "refresh": ...}."""
    try:
        data = json.loads(request.body) if request.content_type == "application/json" else request.POST
        token = data.get("refresh") if hasattr(data, "get") else None
    except (ValueError, RecursionError):
        token = None
    if not isinstance(token, str) or not token:
        return JsonResponse({"refresh": ["This field is required."]}, status=400)
    try:
        tokens = services.refresh_tokens(token)
    except ChatError as error:
        return JsonResponse({"detail": error.message, "code": "token_not_valid"}, status=401)
    return JsonResponse({"access": tokens["access_token"], "refresh": tokens["refresh_token"]})

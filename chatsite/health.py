"""/healthz/: is this web process up, and (for staff) what it holds open."""
import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.http import JsonResponse

from chatsite.auth import user_from_authorization
from chatsite import db, groups
from chatsite.errors import ChatError
from posts import stream as room_streams


def group_memberships(layer):
    """(group, channel) pairs this process's layer holds, whichever layer it is."""
    if hasattr(layer, "_multi_queue"):  # channels_rabbitmq
        groups = layer._multi_queue._local_groups
    else:  # the in-memory layer
        groups = getattr(layer, "groups", {})
    return sum(len(channels) for channels in groups.values())


def _is_staff(request):
    try:
        user = user_from_authorization(request.headers.get("Authorization")) or request.user
    except ChatError:
        return False
    return bool(user and user.is_authenticated and user.is_staff)


async def healthz(request):
    body = {"status": "ok"}
    if await sync_to_async(_is_staff)(request):
        body["group_memberships"] = group_memberships(get_channel_layer())
        body["asyncio_tasks"] = len(asyncio.all_tasks())
        body["process_groups"] = groups.stats()
        body["room_streams"] = room_streams.stats()
        body["database_work"] = db.stats()
    return JsonResponse(body)

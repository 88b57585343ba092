"""/healthz/: is this web process up, and (for staff) what it holds open.

Each app registers its own figures (`register`, e.g. in its AppConfig.ready); here are only
the process's own: the channel layer's memberships, the asyncio tasks, the groups joined
(chatsite.groups) and the database work queued (chatsite.db)."""
import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.http import JsonResponse

from chatsite import db, groups
from chatsite.auth import user_from_authorization
from chatsite.errors import ChatError

_figures = {}


def register(name, figures):
    """Show `figures()` (a JSON-able value) under `name` to staff."""
    _figures[name] = figures


def group_memberships(layer):
    """(group, channel) pairs this process's layer holds, whichever layer it is. For
    channels_rabbitmq, read from its private `_multi_queue._local_groups` (no public
    figure exists): tests/test_private_apis.py fails on a version that moves it."""
    if hasattr(layer, "_multi_queue"):  # channels_rabbitmq
        groups = layer._multi_queue._local_groups
    else:  # the in-memory layer
        groups = getattr(layer, "groups", {})
    return sum(len(channels) for channels in groups.values())


register("group_memberships", lambda: group_memberships(get_channel_layer()))
register("asyncio_tasks", lambda: len(asyncio.all_tasks()))
register("process_groups", groups.stats)
register("database_work", db.stats)


def figures():
    """Every registered figure, now (on the event loop the figures belong to)."""
    return {name: figures() for name, figures in _figures.items()}


def _is_staff(request):
    try:
        user = user_from_authorization(request.headers.get("Authorization")) or request.user
    except ChatError:
        return False
    return bool(user and user.is_authenticated and user.is_staff)


async def healthz(request):
    body = {"status": "ok"}
    if await sync_to_async(_is_staff)(request):
        body.update(figures())
    return JsonResponse(body)

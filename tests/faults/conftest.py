"""A stack of its own for each fault test: two `web`, a `worker`, the `bot`, as the Procfile
starts them, so that what one fault leaves behind can't touch another test."""
import itertools

import pytest
from django.conf import settings

from rooms.models import Room
from tests.conftest import Stack, need, new_vhost
from tests.helpers import user_with_token

_rooms = itertools.count(1)

# Posts flow faster than the default rate limit allows one user; stages give up after two
# retries (1 s, 2 s) instead of ten, so "fails for good" takes seconds, not minutes.
FAULT_ENV = {"RATE_LIMIT_POSTS": "1000", "PIPELINE_STAGE_MAX_RETRIES": "2", "PIPELINE_RETRY_BACKOFF_MAX": "2"}


@pytest.fixture
def postgresql():
    need(
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "DATABASE_URL",
        "the fault tests need PostgreSQL (DATABASE_URL=postgresql://...)",
    )


@pytest.fixture
def fault_vhost():
    """A vhost of the test's own: no other stack's worker takes its messages."""
    yield from new_vhost()


@pytest.fixture
def start_stack(stack_env, fault_vhost, postgresql):
    """start_stack(**env) -> a started Stack (web1, web2, posts_worker, bot); stopped after."""
    stacks = []

    def start(**env):
        stack = Stack({**stack_env, **FAULT_ENV, **env}, fault_vhost)
        stacks.append(stack)
        stack.web1, stack.web2 = stack.web(label="web1"), stack.web(label="web2")
        stack.posts_worker, stack.bot = stack.worker("worker"), stack.worker("bot")
        for process in stack.processes:
            process.wait_ready()
        return stack

    yield start
    for stack in stacks:
        stack.stop()


def make_users(n, prefix="faulty"):
    """(username, access token) of `n` new users."""
    return [(user.username, token) for user, token in (user_with_token(prefix) for _ in range(n))]


def make_room():
    room_id = f"fault-{next(_rooms)}"
    return Room.objects.create(id=room_id, name=room_id).pk

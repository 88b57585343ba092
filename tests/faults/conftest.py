"""A stack of its own for each fault test: two `web`, a `worker`, the `bot`, as the Procfile
starts them, so that what one fault leaves behind can't touch another test."""
import pytest
from django.conf import settings

from tests.conftest import Stack, need, new_vhost
from tests.helpers import make_room as new_room, named_user

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
        return stack.start_procfile()

    yield start
    for stack in stacks:
        stack.stop()


def make_users(n, prefix="faulty"):
    """(username, access token) of `n` new users."""
    return [named_user(prefix) for _ in range(n)]


def make_room():
    """A new room's id."""
    return new_room(prefix="fault").pk

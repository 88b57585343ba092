"""Database work from async code (consumers, room streams), on a few threads of its own.

Channels' `database_sync_to_async` runs every call of a process on one shared thread, so
a burst of connecting clients or a room stream catching up queued behind each other. Here
a small pool serves them, and each call hands its connection back (to the pool, on
PostgreSQL) when it ends."""
import asyncio
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections

_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="db")


def _call(function, args):
    close_old_connections()
    try:
        return function(*args)
    finally:
        close_old_connections()


async def on_db_thread(function, *args, timeout=None):
    """`function(*args)` on a database thread; past `timeout` seconds, TimeoutError."""
    async with asyncio.timeout(timeout):
        return await asyncio.get_running_loop().run_in_executor(_threads, _call, function, args)

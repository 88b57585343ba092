"""The embedded mode's pipeline (no broker): stages run in the web process, in the background.

With no AMQP_URL, Celery runs tasks eagerly. Run inline, a stage would run inside the
transaction of the createPost that sent it, and a slow one (the bot's Stooq fetch, up to
5 s) would hold SQLite's write lock and that request for its whole length. Instead, inside
the ASGI server, a stage is started after the current transaction commits (at once when
there is none) on a thread of a small pool, with Celery's eager machinery (`task.apply`):
the task's code, retries and logging are the ones a worker runs. Stages that a stage sends
are started the same way, so no stage waits for the next one.

The thread is entered through `sync_to_async` from a task on the server's event loop
(captured by `CaptureServerLoop`, applied in chatsite/asgi.py), so `async_to_sync` inside a
stage (the in-memory channel layer's `group_send`, in posts/modes.py) runs on the
server's loop, where that layer's queues live.

One pool per Celery queue, sized like the Procfile's workers: the bot's stages
(`stockbot`: waiting on Stooq, without a transaction) can never starve the plain posts'
stages (`posts`: short database writes), and each pool bounds how many stages of its queue
run at once; further stages wait in the pool's queue, in order.

Outside a running server (the in-process tests, `manage.py shell`) there is no loop, and
`posts.modes.Embedded` runs stages inline, eagerly.

When the server stops, stages still queued or running get EXIT_GRACE_SECONDS to end; past
that they are abandoned (the threads are daemons): the embedded mode has no broker to keep
them. The request is in the database (PostRequest) either way.
"""
import asyncio
import atexit
import contextvars
import logging
import threading
import time

import jwt
from asgiref.sync import sync_to_async
from celery import current_app
from django.db import close_old_connections, transaction

from chatsite.db import FairPool

log = logging.getLogger("posts.pipeline")

# Threads per queue. `posts` stages write
# to a database that (SQLite) takes one writer at a time; `stockbot` stages wait on Stooq
# (up to its 5 s timeout) holding nothing, so a few of them may wait at once.
POOL_SIZES = {"posts": 4, "stockbot": 4}
DEFAULT_POOL_SIZE = 2
EXIT_GRACE_SECONDS = 8

_server_loop = None
_pools = {}
_pools_lock = threading.Lock()
_started = set()  # strong references: the loop keeps only weak ones to its tasks


class CaptureServerLoop:
    """ASGI middleware: remembers the event loop the server runs the application on."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        global _server_loop
        loop = asyncio.get_running_loop()
        if _server_loop is not loop:
            _server_loop = loop
        return await self.application(scope, receive, send)


def server_loop():
    """The ASGI server's event loop while it runs (seen from another thread), else None."""
    loop = _server_loop
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    try:
        if asyncio.get_running_loop() is loop:
            return None
    except RuntimeError:
        pass
    return loop


def in_server():
    return server_loop() is not None


def send_after_commit(stage, payload):
    """Start `stage` with `payload` once the current transaction commits (now if none).

    A rollback drops it, as it drops the request row that sent it."""
    transaction.on_commit(lambda: _schedule(stage, payload), robust=True)


def stage_pool(name, size):
    """A queue's stages: `size` daemon threads taking them in order (chatsite.db's pool, one
    lane). Daemons can't keep a stopping process alive: a stage's fan-out waiting on the
    stopped server loop would otherwise wait for ever."""
    return FairPool(size, size, f"stage-{name}")


def _pool(stage):
    try:
        queue_name = current_app.amqp.router.route({}, str(stage))["queue"].name
    except Exception:
        queue_name = current_app.conf.task_default_queue
    with _pools_lock:
        pool = _pools.get(queue_name)
        if pool is None:
            pool = _pools[queue_name] = stage_pool(queue_name, POOL_SIZES.get(queue_name, DEFAULT_POOL_SIZE))
        return pool


def _schedule(stage, payload):
    pool = _pool(stage)
    context = contextvars.Context()  # the stage inherits nothing from the request that sent it
    loop = server_loop()
    if loop is not None:
        try:
            loop.call_soon_threadsafe(_start_on_loop, pool, stage, payload, context=context)
            return
        except RuntimeError:  # the loop closed meanwhile: the server is stopping
            pass
    log.warning("stage=%s request_id=%s started without the server's event loop", stage, request_id_of(payload))
    pool.submit(context.run, run_stage, stage, payload)


def _start_on_loop(pool, stage, payload):
    task = asyncio.get_running_loop().create_task(
        sync_to_async(run_stage, thread_sensitive=False, executor=pool)(stage, payload)
    )
    _started.add(task)
    task.add_done_callback(lambda done: _finished(done, stage, payload))


def _finished(task, stage, payload):
    _started.discard(task)
    if task.cancelled():  # the thread's call still runs if it had begun
        log.warning("stage=%s request_id=%s: its waiting task was cancelled", stage, request_id_of(payload))
    elif task.exception() is not None:  # run_stage logs its own; this is a last resort
        log.error("stage=%s request_id=%s failed", stage, request_id_of(payload), exc_info=task.exception())


def run_stage(stage, payload):
    """Run one stage eagerly in this thread, as a worker would; log it if it failed."""
    close_old_connections()
    try:
        result = current_app.tasks[str(stage)].apply(kwargs=payload)
        if result.failed():  # celery.app.trace has logged the traceback, under the task's id
            log.error("stage=%s request_id=%s task=%s failed: %r", stage, request_id_of(payload), result.id, result.result)
    except Exception:
        log.exception("stage=%s request_id=%s failed", stage, request_id_of(payload))
    finally:
        close_old_connections()


def request_id_of(payload):
    """The request id of a stage's payload, for the log; a bot reply carries it in its token."""
    if payload.get("request_id"):
        return payload["request_id"]
    try:  # for the log only: verify_room_token checks the token where it matters
        return jwt.decode(payload["room_token"], options={"verify_signature": False})["rid"]
    except Exception:
        return "?"


@atexit.register
def _finish_at_exit():
    """The server has stopped: give queued and running stages a moment to end."""
    with _pools_lock:
        pools = [pool for pool in _pools.values() if pool.unfinished]
    if not pools:
        return
    loop = _server_loop
    if loop is not None and not loop.is_running():
        try:
            loop.close()  # fan-out now fails at once (and is logged) instead of waiting on it
        except Exception:
            pass
    deadline = time.monotonic() + EXIT_GRACE_SECONDS
    for pool in pools:
        if not pool.wait_idle(max(0, deadline - time.monotonic())):
            log.warning("%s stage(s) of %s abandoned: the server stopped", pool.unfinished, pool.name)

"""Database work from async code (consumers, room streams), on threads of its own.

Channels' `database_sync_to_async` runs every call of a process on one shared thread, so a
burst of connecting clients or one client's slow requests queued everybody behind them.
Here:

- Work is queued per *lane* (a user, or the process's own work) and the threads take the
  lanes in turn, one job at a time, and no lane runs on more than LANE_THREADS threads at
  once: however much one user queues, another user's request waits for at most one job to
  finish, never for the whole queue.
- Setting up a connection (checking its credentials) has threads of its own
  (`on_setup_thread`), so no amount of queued user work can keep a new connection from its
  acknowledgement.

The lane is taken from the calling task's context (`lane.set(...)`, done by the WebSocket
transport for each operation), so the code that calls `on_db_thread` needn't know whose
work it is. Each call hands its connection back (to the pool, on PostgreSQL) when it ends.
"""
import asyncio
import contextvars
import functools
import threading
from collections import OrderedDict, deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor

from django.db import close_old_connections

THREADS = 4
LANE_THREADS = 2  # of THREADS: the rest always serve others
PROCESS_LANE = "process"

# Whose work the current task does: a WebSocket operation sets its user's lane.
lane = contextvars.ContextVar("db_lane", default=PROCESS_LANE)


def _call(function, args):
    close_old_connections()
    try:
        return function(*args)
    finally:
        close_old_connections()


class FairPool(Executor):
    """Daemon threads that take queued calls lane by lane, round robin (one lane: in order).
    Daemons, unlike ThreadPoolExecutor's threads, can't keep a stopping process alive."""

    def __init__(self, threads, lane_threads, name):
        self.threads, self.lane_threads, self.name = threads, lane_threads, name
        self.waiting = OrderedDict()  # lane -> deque of (future, call); the next lane first
        self.running = {}  # lane -> calls running now
        self.idle = threading.Condition()
        self.started = 0

    def submit(self, function, /, *args, **kwargs):
        """`function(*args, **kwargs)` in the current task's lane (an Executor's submit)."""
        return self.submit_to(lane.get(), functools.partial(function, *args, **kwargs))

    def submit_to(self, job_lane, call):
        future = Future()
        with self.idle:
            self.waiting.setdefault(job_lane, deque()).append((future, call))
            if self.started < self.threads:
                self.started += 1
                threading.Thread(target=self._serve, name=f"{self.name}-{self.started}", daemon=True).start()
            self.idle.notify_all()
        return future

    def _next(self):
        """The next job of the first lane that may run one more (under the lock)."""
        for job_lane, jobs in self.waiting.items():
            if self.running.get(job_lane, 0) < self.lane_threads:
                job = jobs.popleft()
                del self.waiting[job_lane]
                if jobs:
                    self.waiting[job_lane] = jobs  # to the back: the other lanes go first
                self.running[job_lane] = self.running.get(job_lane, 0) + 1
                return job_lane, job
        return None

    def _serve(self):
        while True:
            with self.idle:
                taken = self._next()
                while taken is None:
                    self.idle.wait()
                    taken = self._next()
            job_lane, (future, call) = taken
            try:
                if future.set_running_or_notify_cancel():  # a cancelled caller's job is skipped
                    try:
                        future.set_result(call())
                    except BaseException as error:
                        future.set_exception(error)
            finally:
                with self.idle:
                    self.running[job_lane] -= 1
                    if not self.running[job_lane]:
                        del self.running[job_lane]
                    self.idle.notify_all()

    @property
    def unfinished(self):
        with self.idle:
            return sum(len(jobs) for jobs in self.waiting.values()) + sum(self.running.values())

    def wait_idle(self, timeout):
        """True once nothing is queued or running; False if that took longer than `timeout`."""
        with self.idle:
            return self.idle.wait_for(lambda: not self.waiting and not self.running, timeout)

    def stats(self):
        with self.idle:
            return {"queued": sum(len(jobs) for jobs in self.waiting.values()), "lanes": len(self.waiting)}


_work = FairPool(THREADS, LANE_THREADS, "db")
_setup = ThreadPoolExecutor(max_workers=2, thread_name_prefix="db-setup")


async def on_db_thread(function, *args, timeout=None):
    """`function(*args)` on a database thread, in the current task's lane; past `timeout`
    seconds, TimeoutError (and the job, if it has not started, never runs)."""
    async with asyncio.timeout(timeout):
        return await asyncio.wrap_future(_work.submit(_call, function, args))


async def on_setup_thread(function, *args):
    """`function(*args)` on the threads kept for setting up connections."""
    return await asyncio.get_running_loop().run_in_executor(_setup, _call, function, args)


stats = _work.stats

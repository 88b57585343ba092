"""The channel layer groups one web process listens to: each joined once, for any number of
local listeners.

A process joins a group (a binding on the broker, with channels_rabbitmq) when its first
local listener arrives and leaves it when its last one goes, with one layer channel for
all of them. So a connection costs no channel of its own, a group message costs one
delivery per process rather than one per connection, and a room with 10,000 readers on a
process is one binding. Listeners are plain callables, called in the event loop with each
message of their group (every layer message carries its `group`).
"""
import asyncio
import logging
from collections import defaultdict

from channels.layers import get_channel_layer

from chatsite.metrics import GROUP_MESSAGES_RECEIVED

log = logging.getLogger("chatsite.groups")

GROUP_TIMEOUT_SECONDS = 10


class ProcessGroups:
    def __init__(self):
        self.layer = get_channel_layer()
        self.listeners = defaultdict(set)  # group -> {callable}
        self.joined = set()
        self.locks = defaultdict(asyncio.Lock)  # one join or leave of a group at a time
        self.syncing = defaultdict(int)  # group -> how many hold or await its lock
        self.channel = None
        self.started = asyncio.ensure_future(self._start())

    async def _start(self):
        self.channel = await self.layer.new_channel("process.")
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except BaseException:
                log.exception("reading the channel layer failed; reading on")
                await asyncio.sleep(1)
                continue
            GROUP_MESSAGES_RECEIVED.value += 1
            for listener in list(self.listeners.get(message.get("group"), ())):
                try:
                    listener(message)
                except Exception:
                    log.exception("listener of %s failed", message.get("group"))

    async def join(self, group, listener):
        """Call `listener` with every message of `group` from now on (once this returns)."""
        self.listeners[group].add(listener)
        try:
            # Shielded: a listener cancelled while it waits must not cancel the shared work.
            await asyncio.shield(self._sync(group))
        except BaseException:
            self.discard(group, listener)
            raise

    def discard(self, group, listener):
        """Stop calling `listener`; the process leaves the group in the background when it
        was the last one."""
        listeners = self.listeners.get(group)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            del self.listeners[group]
            task = asyncio.ensure_future(self._sync(group))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # logged in _sync

    async def _sync(self, group):
        """Make the layer membership match whether anyone here listens to `group`."""
        await asyncio.shield(self.started)
        self.syncing[group] += 1
        try:
            async with self.locks[group]:
                wanted = bool(self.listeners.get(group))
                try:
                    async with asyncio.timeout(GROUP_TIMEOUT_SECONDS):
                        if wanted and group not in self.joined:
                            await self.layer.group_add(group, self.channel)
                            self.joined.add(group)
                            log.info("joined %s", group)
                        elif not wanted and group in self.joined:
                            self.joined.discard(group)
                            await self.layer.group_discard(group, self.channel)
                            log.info("left %s", group)
                except TimeoutError:
                    log.warning("group %s: the channel layer did not answer in %s s", group, GROUP_TIMEOUT_SECONDS)
                    if wanted:
                        raise
        finally:
            self.syncing[group] -= 1
            if not self.syncing[group]:  # nobody holds or awaits this group's lock
                del self.syncing[group], self.locks[group]

    def stats(self):
        return {"groups": len(self.joined), "listeners": sum(len(v) for v in self.listeners.values())}


class PerLoop:
    """One `factory()` per running event loop: a server process runs one, and tests start
    several one after another. `stats()` adds up the live ones' `stats()`."""

    def __init__(self, factory, **zeros):
        self.factory, self.zeros, self.by_loop = factory, zeros, {}

    def __call__(self):
        loop = asyncio.get_running_loop()
        instance = self.by_loop.get(loop)
        if instance is None:
            for old in [old for old in self.by_loop if old.is_closed()]:
                del self.by_loop[old]
            instance = self.by_loop[loop] = self.factory()
        return instance

    def stats(self):
        total = dict(self.zeros)
        for loop, instance in list(self.by_loop.items()):
            if not loop.is_closed():
                for key, value in instance.stats().items():
                    total[key] += value
        return total


# This process's (this event loop's) groups.
process_groups = PerLoop(ProcessGroups, groups=0, listeners=0)
stats = process_groups.stats

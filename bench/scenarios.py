"""The scenarios, each on rooms of its own, each measured over a window after a warm-up.

- throughput: closed loop, K createPost in flight, a few subscribers: how many posts a
  second the pipeline accepts and stores (from the database count over the window).
- latency: open loop at half that rate, 100 subscribers split over the web processes:
  latency from the createPost send to each receipt.
- fanout: many subscribers, a few posts a second: deliveries a second and per web CPU-s.
- idle: many subscribed connections on one web process doing nothing: memory per
  connection, idle CPU, then one post and how long it takes to reach them all.

In every scenario: CPU per process from /proc over the same window as the counts, so CPU
per post and per delivery divide like by like; then the pipeline is let to drain and every
subscriber that stayed connected is checked against the posts stored in its room: lost
(stored, never received), duplicated, out of order (a seq lower than the one before).
"""
import asyncio
import time
from collections import Counter

from bench.clients import (
    ClosedLoop,
    HttpConnection,
    OpenLoop,
    Receipts,
    Subscription,
    UserPool,
    close_all,
    create_post,
    marker_body,
    now_ns,
    open_all,
)
from bench.procfs import CpuMeter
from bench.profile import Profiler


def percentiles_ms(values_ns):
    """p50/p95/p99/max in milliseconds (nearest rank) of a list of nanosecond values."""
    if not values_ns:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values_ns)

    def rank(p):
        return round(ordered[min(len(ordered) - 1, max(0, int(p * len(ordered) + 0.5) - 1))] / 1e6, 2)

    return {"n": len(ordered), "p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": round(ordered[-1] / 1e6, 2)}


def per(total, count, scale):
    return round(total * scale / count, 4) if count else None


class Context:
    """What every scenario shares: the stack, the users, one database connection."""

    def __init__(self, args, stack, progress):
        self.args, self.stack, self.progress = args, stack, progress
        self.profiler = Profiler(stack, stack.log_dir, args.profile_rate) if args.profile else None
        limit = stack.seed["rate_limit"]
        self.pool = UserPool(stack.seed["posters"], limit["posts"], limit["window_seconds"])
        self.readers = stack.seed["readers"]
        self.http_urls = [url for _, url in stack.webs]
        self.ws_urls = [url.replace("http://", "ws://", 1) + "/graphql/" for url in self.http_urls]
        self.table = stack.seed["posts_table"]
        self._db = stack.db()
        self._db_lock = asyncio.Lock()
        self.queries = 0
        self.throughput = None  # posts stored a second, once the throughput scenario ran

    def close(self):
        self._db.close()

    async def _query(self, sql, params):
        async with self._db_lock:
            self.queries += 1  # each one a commit in pg_stat_database (autocommit): ours, not the app's
            return await asyncio.to_thread(lambda: self._db.execute(sql, params).fetchall())

    async def stored_count(self, rooms):
        t = self.table
        rows = await self._query(f'SELECT count(*) FROM "{t["table"]}" WHERE "{t["room"]}" = ANY(%s)', (rooms,))
        return rows[0][0]

    async def stored_seqs(self, rooms):
        """{room: set of seqs stored}."""
        t = self.table
        rows = await self._query(f'SELECT "{t["room"]}", "{t["seq"]}" FROM "{t["table"]}" WHERE "{t["room"]}" = ANY(%s)', (rooms,))
        seqs = {room: set() for room in rooms}
        for room, seq in rows:
            seqs[room].add(seq)
        return seqs

    async def db_stats(self):
        """PostgreSQL's counters for our database: sessions opened and transactions
        committed (updated by each backend about once a second: approximate at the edges)."""
        try:
            rows = await self._query(
                "SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = current_database()", ())
            return {"sessions": rows[0][0], "commits": rows[0][1], "ours": self.queries}
        except Exception:  # PostgreSQL before 14 has no `sessions`
            return None

    async def snapshot(self, rooms, db_stats=False):
        """Time, CPU of every process and posts stored, taken together."""
        at = now_ns()
        cpu = self.stack.cpu.sample()
        stored = await self.stored_count(rooms)
        snap = {"ns": at, "t": time.monotonic(), "cpu": cpu, "stored": stored}
        if db_stats:
            snap["db"] = await self.db_stats()
        return snap

    async def newest_seq(self, room):
        t = self.table
        rows = await self._query(f'SELECT max("{t["seq"]}") FROM "{t["table"]}" WHERE "{t["room"]}" = %s', (room,))
        return rows[0][0] or 0

    def subscription(self, n, room_id, receipts, web_index=None, after=0):
        """A subscriber as a client should make one: `after` = the newest seq it has read."""
        index = n % len(self.ws_urls) if web_index is None else web_index
        token = self.readers[n % len(self.readers)][2]
        return Subscription(self.ws_urls[index], token, room_id, after, receipts, self.stack.webs[index][0])

    async def subscribe(self, label, count, make):
        deadline = time.monotonic() + self.args.connect_timeout
        subs, errors = await open_all(
            make, count, self.args.connect_concurrency, deadline,
            on_progress=lambda done, total: self.progress.draw(f"{label}: connect", done / total, f"{done}/{total} subscribed"),
        )
        self.progress.done()
        if count and not subs:
            raise RuntimeError(f"{label}: no subscription could be opened: {dict(errors)}")
        return subs, errors

    async def wait_for(self, label, predicate, timeout, status):
        """Poll an async predicate every 0.1 s for at most `timeout` s; True if it held."""
        start = time.monotonic()
        for _ in range(int(timeout * 10) + 1):
            if await predicate():
                return True
            self.progress.draw(label, (time.monotonic() - start) / timeout, status())
            await asyncio.sleep(0.1)
        return False


async def load_scenario(ctx, name, *, subscribers, rooms, make_driver, warmup, duration, setup):
    """Subscribers, then load for warmup + duration, the window measured, then drain and check."""
    args, stack, progress = ctx.args, ctx.stack, ctx.progress
    room_ids = [stack.room_id(f"{name}-{i}") for i in range(rooms)]
    receipts = Receipts()
    rss_before = {label: stack.rss_kib(label) for label, _ in stack.webs}
    subs, sub_errors = await ctx.subscribe(name, subscribers, lambda n: ctx.subscription(n, room_ids[n % rooms], receipts))
    rss_after = {label: stack.rss_kib(label) for label, _ in stack.webs}
    driver = make_driver(room_ids, receipts)
    log = driver.log

    begin = await ctx.snapshot(room_ids, db_stats=True)
    start = time.monotonic()
    window_start, stop_at = start + warmup, start + warmup + duration
    marks = {}

    async def mark_window():
        await asyncio.sleep(max(0.0, window_start - time.monotonic()))
        marks["start"] = await ctx.snapshot(room_ids)
        if ctx.profiler and name in args.profile:
            ctx.profiler.start(name, stop_at - time.monotonic())
        await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
        marks["end"] = await ctx.snapshot(room_ids)

    ticker = asyncio.ensure_future(progress.ticker(
        name, start, warmup + duration,
        lambda: f"sent {log.sent} ok {len(log.ok_at)} delivered {len(receipts)}",
    ))
    try:
        await asyncio.gather(driver.run(stop_at), mark_window())
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)

    # Drain: every accepted post stored, every connected subscriber up to its room's newest.
    # A closed loop on createPost answers can run ahead of the pipeline; give the backlog
    # the time the pipeline's own rate says it needs (bounded).
    accepted = len(log.ok_at)
    backlog = accepted - marks["end"]["stored"]
    rate = max(1.0, (marks["end"]["stored"] - marks["start"]["stored"]) / max(0.001, marks["end"]["t"] - marks["start"]["t"]))
    drain_timeout = min(args.settle_timeout + 1.5 * backlog / rate, args.settle_timeout + 240)

    async def all_stored():
        return await ctx.stored_count(room_ids) >= accepted

    drained = await ctx.wait_for(f"{name}: drain", all_stored, drain_timeout, lambda: f"{accepted} accepted")
    stored = await ctx.stored_seqs(room_ids)
    newest = {room: max(seqs, default=0) for room, seqs in stored.items()}

    async def all_delivered():
        return all(s.last_seq >= newest[s.room_id] for s in subs if s.connected)

    caught_up = await ctx.wait_for(
        f"{name}: deliver", all_delivered, args.settle_timeout, lambda: f"{len(receipts)} delivered"
    )
    progress.done()
    await asyncio.sleep(1.1)  # let the backends report their counters
    finish = await ctx.snapshot(room_ids, db_stats=True)
    await close_all(subs)

    first, last = marks["start"], marks["end"]
    window = last["t"] - first["t"]
    stored_in_window = last["stored"] - first["stored"]
    delivered_in_window = receipts.between(first["ns"], last["ns"])
    # CPU per post and per delivery: everything spent from the first send until the last
    # post is stored and delivered, over all of them (the window's rates alone would
    # charge a backlog's work to the wrong posts when the pipeline runs behind).
    cpu = CpuMeter.delta(begin["cpu"], finish["cpu"])
    cpu_window = CpuMeter.delta(first["cpu"], last["cpu"])
    web_cpu = sum(v for k, v in cpu.items() if k.startswith("web"))
    delivered = len(receipts)
    latency = [
        lat for at, lat in zip(receipts.at, receipts.latency) if lat >= 0 and first["ns"] <= at - lat < last["ns"]
    ]
    rtt = [r for at, r in zip(log.ok_at, log.rtt_ns) if first["ns"] <= at < last["ns"]]
    connected = [s for s in subs if s.connected]
    stored_total = sum(len(v) for v in stored.values())
    outcomes = dict(log.outcomes)
    result = {
        **setup,
        "subscribers": len(subs),
        "subscribe_errors": dict(sub_errors),
        "rooms": rooms,
        "window_s": round(window, 2),
        "posts_sent": log.sent,
        "posts_accepted": accepted,
        "posts_stored": stored_total,
        "accepted_per_s": round(log.accepted_between(first["ns"], last["ns"]) / window, 1),
        "stored_per_s": round(stored_in_window / window, 1),
        "deliveries_per_s": round(delivered_in_window / window, 1),
        "latency_ms": percentiles_ms(latency),
        "create_post_ms": percentiles_ms(rtt),
        "lost": sum(len(stored[s.room_id] - s.seqs) for s in connected),
        "duplicated": sum(s.duplicates for s in subs),
        "out_of_order": sum(s.out_of_order for s in subs),
        "disconnected": dict(Counter(s.ended for s in subs if not s.connected)),
        "accepted_not_stored": max(0, accepted - stored_total),
        "drained": drained and caught_up,
        "outcomes": outcomes,
        "http_5xx": sum(v for k, v in outcomes.items() if k.startswith("http_5")),
        "http_other": sum(v for k, v in outcomes.items() if k.startswith("http_") and not k.startswith("http_5")),
        "graphql_errors": {k: v for k, v in outcomes.items() if k.isupper()},
        "connection_errors": sum(v for k, v in outcomes.items() if k.startswith("conn_")),
        "late_sends": log.late,
        "user_waits": ctx.pool.waited,
        "deliveries": delivered,
        "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "cpu_ms_per_post": {k: per(v, stored_total, 1e3) for k, v in cpu.items()},
        "cpu_us_per_delivery": {k: per(v, delivered, 1e6) for k, v in cpu.items()},
        "cpu_share_in_window": {k: round(v / window, 2) for k, v in cpu_window.items()},
        "web_deliveries_per_cpu_s": round(delivered / web_cpu) if web_cpu else None,
        "loadgen_cpu_share": round(cpu_window.get("loadgen", 0) / window, 2),
        "drain_s": round(finish["t"] - last["t"] - 1.1, 1),
        **_db_figures(begin.get("db"), finish.get("db"), stored_total),
        "rss_kib_before_after_connect": {k: [rss_before[k], rss_after[k]] for k in rss_before},
    }
    if ctx.profiler and name in args.profile:
        result["profile"] = await asyncio.to_thread(ctx.profiler.collect)
    ctx.pool.waited = 0
    return result


def _db_figures(before, after, posts):
    """New PostgreSQL sessions and commits in our database, per post: a connection opened
    per task or per request shows here (a backend fork and an authentication each)."""
    if not before or not after:
        return {}
    sessions = after["sessions"] - before["sessions"]
    commits = after["commits"] - before["commits"] - (after["ours"] - before["ours"])
    return {"db_sessions_opened": sessions, "db_sessions_per_post": per(sessions, posts, 1),
            "db_commits_per_post": per(commits, posts, 1)}


async def throughput(ctx):
    a = ctx.args
    result = await load_scenario(
        ctx, "throughput", subscribers=a.subscribers_throughput, rooms=a.rooms, warmup=a.warmup, duration=a.duration,
        make_driver=lambda rooms, receipts: ClosedLoop(
            ctx.http_urls, ctx.pool, rooms, a.in_flight, a.body_size, until=a.closed_loop_on, receipts=receipts),
        setup={"mode": f"closed loop on {a.closed_loop_on}, {a.in_flight} in flight", "in_flight": a.in_flight,
               "closed_loop_on": a.closed_loop_on},
    )
    ctx.throughput = result["stored_per_s"]
    return result


async def latency(ctx):
    a = ctx.args
    if a.rate:
        rate, why = a.rate, "--rate"
    elif ctx.throughput:
        rate, why = max(1.0, round(ctx.throughput / 2, 1)), "half the measured throughput"
    else:
        rate, why = 100.0, "default (throughput not measured in this run)"
    return await load_scenario(
        ctx, "latency", subscribers=a.subscribers, rooms=1, warmup=a.warmup, duration=a.duration,
        make_driver=lambda rooms, receipts: OpenLoop(ctx.http_urls, ctx.pool, rooms, rate, a.body_size, a.max_connections),
        setup={"mode": f"open loop, {rate:g}/s ({why})", "rate": rate},
    )


async def fanout(ctx):
    a = ctx.args
    return await load_scenario(
        ctx, "fanout", subscribers=a.fanout_subscribers, rooms=1, warmup=a.warmup, duration=a.duration,
        make_driver=lambda rooms, receipts: OpenLoop(ctx.http_urls, ctx.pool, rooms, a.fanout_rate, a.body_size, a.max_connections),
        setup={"mode": f"open loop, {a.fanout_rate:g}/s", "rate": a.fanout_rate},
    )


async def _post_one(ctx, web_url, room_id):
    user = await ctx.pool.acquire(time.monotonic() + 30)
    if user is None:
        raise RuntimeError("no posting user free for 30 s")
    http = HttpConnection(web_url)
    try:
        sent = now_ns()
        outcome = await create_post(http, user.token, room_id, marker_body(0, sent, ctx.args.body_size))
    finally:
        http.close()
        ctx.pool.release(user)
    if outcome != "ok":
        raise RuntimeError(f"createPost answered {outcome}")
    return sent


async def idle(ctx):
    """N subscribed connections on one web process: KiB each, idle CPU, one post's reach."""
    a, stack, progress = ctx.args, ctx.stack, ctx.progress
    label, web_url = stack.webs[0]
    room_id = stack.room_id("idle-0")
    count = a.idle_connections

    # Warm the process's code paths (auth, subscription, rendering, room stream), so the
    # memory measured next is the connections', not first-use imports and caches.
    warm_receipts = Receipts()
    warm, _ = await ctx.subscribe("idle: warm-up", 5, lambda n: ctx.subscription(n, room_id, warm_receipts, 0))
    await _post_one(ctx, web_url, room_id)

    async def warm_received():
        return len(warm_receipts) >= len(warm)

    await ctx.wait_for("idle: warm-up", warm_received, 15, lambda: "")
    await close_all(warm)
    await asyncio.sleep(1.0)

    rss_before = stack.rss_kib(label)
    receipts = Receipts()
    after = await ctx.newest_seq(room_id)  # past the warm-up's post, which is history now
    connect_cpu = stack.cpu.sample()
    started = time.monotonic()
    # Readers after the warm-up's five, so each connection is a user of its own.
    subs, errors = await ctx.subscribe(
        "idle", count, lambda n: ctx.subscription(n + 5, room_id, receipts, 0, after)
    )
    connect_s = time.monotonic() - started
    before = stack.cpu.sample()
    connect_cpu = CpuMeter.delta(connect_cpu, before)
    settle_started = time.monotonic()
    for _ in range(int(a.idle_settle * 4)):
        progress.draw("idle: settle", (time.monotonic() - settle_started) / a.idle_settle, f"{len(subs)} connections")
        await asyncio.sleep(0.25)
    progress.done()
    idle_cpu = CpuMeter.delta(before, stack.cpu.sample())
    idle_window = time.monotonic() - settle_started
    rss_after = stack.rss_kib(label)

    await _post_one(ctx, web_url, room_id)
    connected = [s for s in subs if s.connected]

    async def reached_all():
        return all(s.seqs for s in connected)

    await ctx.wait_for("idle: one post", reached_all, a.settle_timeout, lambda: f"{len(receipts)}/{len(connected)} reached")
    progress.done()
    reached = sum(1 for s in connected if s.seqs)
    await close_all(subs)
    per_conn = (rss_after - rss_before) / len(subs) if rss_before and subs else None
    return {
        "mode": f"{count} idle subscriptions on {label}",
        "web": label,
        "connections": len(subs),
        "subscribe_errors": dict(errors),
        "connect_s": round(connect_s, 2),
        "connects_per_s": round(len(subs) / connect_s, 1) if connect_s else None,
        "connect_cpu_ms_per_connection": {k: per(v, len(subs), 1e3) for k, v in connect_cpu.items()},
        "connect_cpu_share": {k: round(v / connect_s, 2) for k, v in connect_cpu.items()},
        "rss_kib_before": rss_before,
        "rss_kib_after": rss_after,
        "rss_kib_per_connection": round(per_conn, 2) if per_conn is not None else None,
        "idle_cpu_share": {k: round(v / idle_window, 3) for k, v in idle_cpu.items()},
        "reached": reached,
        "disconnected": dict(Counter(s.ended for s in subs if not s.connected)),
        "latency_ms": percentiles_ms([lat for lat in receipts.latency if lat >= 0]),
        "duplicated": sum(s.duplicates for s in subs),
        "lost": len(connected) - reached,
    }


SCENARIOS = {"throughput": throughput, "latency": latency, "fanout": fanout, "idle": idle}
# Run order: idle first, on a fresh web process, so its memory per connection is not
# flattered by heap freed by earlier scenarios; latency after throughput (it needs its rate).
RUN_ORDER = ["idle", "throughput", "latency", "fanout"]

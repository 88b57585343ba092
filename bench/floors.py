"""The floors: what the same work costs with nothing of the chat on the way, measured in the
same run, on the same broker, so the chat's figures read as ratios rather than as numbers
that move with the machine.

(a) celery_chain: no-op chains with as many stages as a plain post (2), bench/floor_celery.py,
    on a worker started with the Procfile `worker` line's flags; closed loop with as many
    chains in flight as the throughput scenario has posts in flight.
(b) channels_fanout: bench/floor_asgi.py, a raw ASGI app under the Procfile `web` line's
    server, fed by group messages published as posts/modes.py publishes them; as many
    subscribers and messages a second as the fanout scenario.
(c) websockets_broadcast: bench/floor_ws.py, `websockets.broadcast()`; same subscribers
    and rate.
(d) end_to_end: bench/floor_e2e.py, a post's whole way as thin as the parts allow (a raw
    ASGI endpoint and a 2-stage Celery chain doing the same writes on the chat's tables),
    under the Procfile's `web` and `worker` lines; driven as the throughput scenario drives
    the chat (closed loop, as many createPost in flight, the same users and body size).
"""
import asyncio
import json
import os
import sys
import threading
import time
from array import array
from pathlib import Path

from bench.clients import ClosedLoop, Receipts, UserPool, close_all, marker_body, now_ns, open_all, parse_marker
from bench.procfs import CpuMeter, rss_kib
from bench.scenarios import percentiles_ms, per
from bench.stack import LOOPBACK, web_command, worker_command
from tests.stack import Process, Web, Worker, free_port, http_get, wait_until

FLOOR_WARMUP_S = 1.0


def _frame(n, pad):
    """A frame shaped as the chat's `next` message for a post."""
    post = {"id": str(n), "seq": n, "body": marker_body(n, now_ns(), pad)}
    return json.dumps({"type": "next", "id": "posts", "payload": {"data": {"postCreated": post}}}, separators=(",", ":"))


class FloorSubscriber:
    """A plain WebSocket client that counts frames and their latency (no protocol)."""

    def __init__(self, url, receipts):
        self.url, self.receipts = url, receipts
        self.ws = self.task = None
        self.count = 0
        self.closing = False

    async def open(self, timeout=30):
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, compression=None, proxy=None, ping_interval=None,
                                open_timeout=timeout, close_timeout=2)
        self.task = asyncio.ensure_future(self._read())
        return self

    async def _read(self):
        try:
            async for raw in self.ws:
                at = now_ns()
                post = json.loads(raw)["payload"]["data"]["postCreated"]
                marker = parse_marker(post["body"])
                self.count += 1
                self.receipts.add(at, at - marker[1] if marker else -1)
        except Exception:
            pass

    async def close(self):
        self.closing = True
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except Exception:
            pass
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


class Floors:
    def __init__(self, args, stack, progress, log_dir):
        self.args, self.stack, self.progress = args, stack, progress
        self.log_dir = Path(log_dir)
        self.run_id = f"{os.getpid()}"
        self.env = {**stack.env, "AMQP_URL": stack.amqp_url}

    # --- (a) the Celery chain ---

    async def celery_chain(self):
        progress = self.progress
        queue = f"bench-floor-{self.run_id}"
        done_path = self.log_dir / "floor-chains.done"
        done_path.write_text("")
        env = {**self.env, "BENCH_FLOOR_QUEUE": queue, "BENCH_FLOOR_DONE_FILE": str(done_path)}
        command = worker_command("worker", app="bench.floor_celery", queue=queue, name_prefix="floor-")
        worker = Worker(
            "worker", env, self.stack.amqp_url,
            label="floor-worker", command=command, log_dir=self.log_dir, name_prefix="floor-",
        )
        progress.note(f"floor (a): no-op 2-stage Celery chains: {command}")
        worker.start()
        try:
            await asyncio.to_thread(worker.wait_ready)
            meter = CpuMeter()
            meter.add_group("worker", worker.pid)
            meter.add_comm("rabbitmq", ["beam.smp"])
            meter.add_process("loadgen", os.getpid())
            meter.add_machine("machine")
            result = await self._run_chains(queue, done_path, meter)
        finally:
            await asyncio.to_thread(worker.stop)
            await asyncio.to_thread(self._delete_queue, queue)
        result["command"] = command
        return result

    def _delete_queue(self, queue):
        from kombu import Connection

        try:
            with Connection(self.stack.amqp_url, connect_timeout=5) as conn:
                conn.default_channel.queue_delete(queue)
                conn.default_channel.exchange_delete(queue)
        except Exception:
            pass  # our own vhost goes anyway; on a shared one a leftover queue is harmless

    async def _run_chains(self, queue, done_path, meter):
        from bench.floor_celery import STAGE_1, RETRY_POLICY, make_app

        args = self.args
        app = make_app(self.stack.amqp_url, queue)
        stage1 = app.tasks[STAGE_1]
        inflight = args.in_flight
        duration = args.floor_duration
        state = {"sent": 0, "done": 0, "marks": {}, "error": None}
        done_at, latency = array("q"), array("q")
        stop = threading.Event()

        def publish_closed_loop():
            """A thread: keep `inflight` chains going; read completions from the file."""
            try:
                start = time.monotonic()
                window_start, stop_at = start + FLOOR_WARMUP_S, start + FLOOR_WARMUP_S + duration
                pending, offset, buffer = 0, 0, b""
                with open(done_path, "rb") as done_file:
                    for _ in range(100_000_000):
                        now = time.monotonic()
                        if stop.is_set() or now > stop_at + 15:
                            break
                        if "start" not in state["marks"] and now >= window_start:
                            state["marks"]["start"] = (now_ns(), meter.sample())
                        if "end" not in state["marks"] and now >= stop_at:
                            state["marks"]["end"] = (now_ns(), meter.sample())
                        if now < stop_at:
                            while pending < inflight:
                                state["sent"] += 1
                                stage1.apply_async(
                                    kwargs={"n": state["sent"], "sent_ns": now_ns(), "body": "x" * args.body_size},
                                    retry=True, retry_policy=RETRY_POLICY,
                                )
                                pending += 1
                        elif pending == 0:
                            break
                        done_file.seek(offset)
                        chunk = done_file.read()
                        if not chunk:
                            time.sleep(0.0005)
                            continue
                        offset += len(chunk)
                        buffer += chunk
                        *lines, buffer = buffer.split(b"\n")
                        for line in lines:
                            _, sent, finished = line.split()
                            done_at.append(int(finished))
                            latency.append(int(finished) - int(sent))
                            pending -= 1
                            state["done"] += 1
            except Exception as exc:
                state["error"] = exc

        thread = threading.Thread(target=publish_closed_loop, daemon=True)
        thread.start()
        start = time.monotonic()
        try:
            for _ in range(int((FLOOR_WARMUP_S + duration + 20) * 4)):
                if not thread.is_alive():
                    break
                self.progress.draw("floor: celery", (time.monotonic() - start) / (FLOOR_WARMUP_S + duration),
                                   f"chains sent {state['sent']} done {state['done']}")
                await asyncio.sleep(0.25)
        finally:
            stop.set()
            await asyncio.to_thread(thread.join, 20)
            self.progress.done()
            app.close()
        if state["error"]:
            raise state["error"]
        (start_ns, cpu0), (end_ns, cpu1) = state["marks"]["start"], state["marks"]["end"]
        window = (end_ns - start_ns) / 1e9
        chains = sum(1 for t in done_at if start_ns <= t < end_ns)
        cpu = CpuMeter.delta(cpu0, cpu1)
        in_window = [lat for t, lat in zip(done_at, latency) if start_ns <= t < end_ns]
        return {
            "in_flight": inflight,
            "window_s": round(window, 2),
            "chains_per_s": round(chains / window, 1),
            "stages_per_s": round(2 * chains / window, 1),
            "latency_ms": percentiles_ms(in_window),
            "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
            "cpu_ms_per_chain": {k: per(v, chains, 1e3) for k, v in cpu.items()},
            "completed": state["done"],
            "sent": state["sent"],
        }

    # --- (d) a post's whole way, thin ---

    async def end_to_end(self):
        stack = self.stack
        queue = f"bench-floor-e2e-{self.run_id}"
        env = {**self.env, "BENCH_FLOOR_QUEUE": queue}
        web = Web(env, label="floor-e2e-web", command=web_command("bench.floor_e2e:application"), log_dir=self.log_dir)
        command = worker_command("worker", app="bench.floor_e2e", queue=queue, name_prefix="floor-e2e-")
        worker = Worker("worker", env, stack.amqp_url, label="floor-e2e-worker", command=command,
                        log_dir=self.log_dir, name_prefix="floor-e2e-")
        self.progress.note(f"floor (d): a post's whole way, thin: {web.command} and {command}")
        web.start()
        worker.start()
        try:
            await asyncio.to_thread(web.wait_ready, "/healthz")
            await asyncio.to_thread(worker.wait_ready)
            meter = CpuMeter()
            meter.add_group("web", web.pid)
            meter.add_group("worker", worker.pid)
            meter.add_comm("rabbitmq", ["beam.smp"])
            meter.add_postgres_database("postgres", stack.database)
            meter.add_comm("postgres_all", ["postgres"])
            meter.add_process("loadgen", os.getpid())
            meter.add_machine("machine")
            result = await self._posts_closed_loop(web.url, meter)
        finally:
            await asyncio.to_thread(web.stop)
            await asyncio.to_thread(worker.stop)
            await asyncio.to_thread(self._delete_queue, queue)
        result["commands"] = {"web": web.command, "worker": command}
        return result

    async def _posts_closed_loop(self, url, meter):
        args, stack = self.args, self.stack
        room = stack.room_id("floor-e2e-0")
        limit = stack.seed["rate_limit"]
        driver = ClosedLoop([url], UserPool(stack.seed["posters"], limit["posts"], limit["window_seconds"]), [room],
                            args.in_flight, args.body_size)
        table = stack.seed["posts_table"]
        db = stack.db()

        def stored():
            return db.execute(f'SELECT count(*) FROM "{table["table"]}" WHERE "{table["room"]}" = %s', (room,)).fetchone()[0]

        async def mark():
            return time.monotonic(), await asyncio.to_thread(stored), meter.sample()

        marks = {}
        begin = await mark()
        window_start = begin[0] + FLOOR_WARMUP_S
        stop_at = window_start + args.floor_duration

        async def window():
            await asyncio.sleep(max(0.0, window_start - time.monotonic()))
            marks["start"] = await mark()
            await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
            marks["end"] = await mark()

        async def ticker():
            while True:
                self.progress.draw("floor: end to end", (time.monotonic() - begin[0]) / (FLOOR_WARMUP_S + args.floor_duration),
                                   f"sent {driver.log.sent} ok {len(driver.log.ok_at)}")
                await asyncio.sleep(0.25)

        tick = asyncio.ensure_future(ticker())
        try:
            await asyncio.gather(driver.run(stop_at), window())
            accepted = len(driver.log.ok_at)
            for _ in range(300):  # drained: every accepted post stored (bounded)
                if await asyncio.to_thread(stored) >= accepted:
                    break
                await asyncio.sleep(0.1)
            finish = await mark()
        finally:
            tick.cancel()
            await asyncio.gather(tick, return_exceptions=True)
            self.progress.done()
            db.close()
        (t0, n0, _), (t1, n1, cpu1) = marks["start"], marks["end"]
        cpu = CpuMeter.delta(begin[2], finish[2])
        cpu_window = CpuMeter.delta(marks["start"][2], cpu1)
        total = finish[1] - begin[1]
        return {
            "in_flight": args.in_flight,
            "window_s": round(t1 - t0, 2),
            "posts_accepted": accepted,
            "posts_stored": total,
            "stored_per_s": round((n1 - n0) / (t1 - t0), 1),
            "outcomes": dict(driver.log.outcomes),
            "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
            "cpu_ms_per_post": {k: per(v, total, 1e3) for k, v in cpu.items()},
            "cpu_share_in_window": {k: round(v / (t1 - t0), 2) for k, v in cpu_window.items()},
        }

    # --- (b) and (c): fan-out to the same subscribers ---

    async def channels_fanout(self):
        group = f"bench-floor-{self.run_id}"
        web = Web(
            {**self.env, "BENCH_FLOOR_GROUP": group}, label="floor-channels",
            command=web_command("bench.floor_asgi:application"), log_dir=self.log_dir,
        )
        self.progress.note(f"floor (b): raw channels_rabbitmq fan-out: {web.command}")
        web.start()
        try:
            await asyncio.to_thread(web.wait_ready, "/healthz")
            publisher = _GroupPublisher(self.stack.amqp_url, group)
            try:
                result = await self._fanout(
                    "floor: channels", web.pid, f"ws://{LOOPBACK}:{web.port}/",
                    lambda text: asyncio.to_thread(publisher.publish, text),
                    ready=lambda: _answers(f"{web.url}/ready"),
                )
            finally:
                await asyncio.to_thread(publisher.close)
        finally:
            await asyncio.to_thread(web.stop)
        result["command"] = web.command
        result["server"] = web.command.split()[0]
        return result

    async def websockets_broadcast(self):
        port = free_port()
        server = Process(
            "floor-websockets", self.env,
            command=f"{sys.executable} -m bench.floor_ws --port {port}", log_dir=self.log_dir,
        )
        self.progress.note("floor (c): bare websockets server, broadcast()")
        server.start()
        try:
            def answers():
                server.check_alive()
                try:
                    return http_get(f"http://{LOOPBACK}:{port}/ready")[0] == 200
                except OSError:
                    return False

            await asyncio.to_thread(wait_until, answers, 30, "the websockets floor server")
            control = await ws_connect_plain(f"ws://{LOOPBACK}:{port}/publish")
            try:
                result = await self._fanout(
                    "floor: websockets", server.pid, f"ws://{LOOPBACK}:{port}/", control.send, ready=lambda: True,
                )
            finally:
                await control.close()
        finally:
            await asyncio.to_thread(server.stop)
        result["command"] = "python -m bench.floor_ws (websockets asyncio server, broadcast())"
        return result

    async def _fanout(self, label, pid, url, publish, ready):
        """Subscribers on `url`, then frames at the fanout scenario's rate through the
        coroutine `publish(text)`."""
        args, progress = self.args, self.progress
        count, rate, duration = args.fanout_subscribers, args.fanout_rate, args.floor_duration
        rss_before = rss_kib(pid)
        receipts = Receipts()
        deadline = time.monotonic() + args.connect_timeout
        subs, errors = await open_all(
            lambda n: FloorSubscriber(url, receipts), count, args.connect_concurrency, deadline,
            on_progress=lambda done, total: progress.draw(f"{label}: connect", done / total, f"{done}/{total}"),
        )
        progress.done()
        await asyncio.sleep(0.5)
        rss_after = rss_kib(pid)
        try:
            await asyncio.to_thread(wait_until, ready, 30, f"{label} to join its group")
            # Until every subscriber has had a frame: the group is bound and every
            # connection registered, so the window counts steady deliveries only.
            for n in range(200):
                await publish(_frame(0, args.body_size))
                await asyncio.sleep(0.1)
                if all(s.count for s in subs):
                    break
            meter = CpuMeter()
            meter.add_process("server", pid)
            meter.add_comm("rabbitmq", ["beam.smp"])
            meter.add_process("loadgen", os.getpid())
            meter.add_machine("machine")
            start_ns, cpu0 = now_ns(), meter.sample()
            total = int(rate * duration)
            started = time.monotonic()
            for n in range(1, total + 1):
                delay = started + (n - 1) / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await publish(_frame(n, args.body_size))
                progress.draw(label, (time.monotonic() - started) / duration, f"{len(receipts)} delivered")
            # The last frame's deliveries: wait until the count stops growing (bounded).
            expected = len(receipts) + 0
            for _ in range(100):
                await asyncio.sleep(0.1)
                if len(receipts) == expected:
                    break
                expected = len(receipts)
            end_ns, cpu1 = now_ns(), meter.sample()
            progress.done()
        finally:
            await close_all(subs)
        cpu = CpuMeter.delta(cpu0, cpu1)
        delivered = receipts.between(start_ns, end_ns)
        window = (end_ns - start_ns) / 1e9
        latency = [lat for at, lat in zip(receipts.at, receipts.latency) if lat >= 0 and start_ns <= at - lat < end_ns]
        return {
            "subscribers": len(subs),
            "subscribe_errors": dict(errors),
            "rate": rate,
            "window_s": round(window, 2),
            "deliveries": delivered,
            "expected_deliveries": total * len(subs),
            "deliveries_per_s": round(delivered / window, 1),
            "deliveries_per_cpu_s": round(delivered / cpu["server"]) if cpu["server"] else None,
            "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
            "cpu_us_per_delivery": {k: per(v, delivered, 1e6) for k, v in cpu.items()},
            "latency_ms": percentiles_ms(latency),
            "rss_kib_per_connection": round((rss_after - rss_before) / len(subs), 2) if subs else None,
        }


def _answers(url):
    try:
        return http_get(url)[0] == 200
    except OSError:
        return False


async def ws_connect_plain(url):
    from websockets.asyncio.client import connect

    return await connect(url, compression=None, proxy=None, ping_interval=None, open_timeout=10, close_timeout=2)


class _GroupPublisher:
    """Group messages to channels_rabbitmq's `groups` exchange, as posts/modes.py sends them."""

    def __init__(self, amqp_url, group):
        import msgpack
        from kombu import Connection, Exchange

        self.msgpack = msgpack
        self.group = group
        self.exchange = Exchange("groups", type="direct", durable=False, auto_delete=False)
        self.connection = Connection(amqp_url, connect_timeout=10)
        self.producer = self.connection.Producer()
        self.lock = threading.Lock()

    def publish(self, text):
        with self.lock:
            self.producer.publish(
                self.msgpack.packb({"__asgi_group__": self.group, "type": "floor.message", "text": text}),
                exchange=self.exchange, declare=[self.exchange], routing_key=self.group, content_encoding="binary",
                retry=True, retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
            )

    def close(self):
        self.connection.release()

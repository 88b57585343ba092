"""`make bench`: the chat's benchmark, end to end.

    python -m bench.run                                   # own stack, every scenario, floors
    python -m bench.run --scenarios idle --idle-connections 10000
    python -m bench.run --web-url http://127.0.0.1:8001 --web-url http://127.0.0.1:8002 \\
        --amqp-url amqp://guest:guest@127.0.0.1:5672/chat --database-url postgresql://... \\
        --secret-key ... [--pid worker=1234]            # a stack started elsewhere

Starts the Procfile's processes (two `web`, `worker`, `bot`) on a PostgreSQL database and a
RabbitMQ vhost of their own (or targets running URLs), drives them with real clients
(bench/clients.py) through the scenarios (bench/scenarios.py), measures the floors on the
same broker (bench/floors.py), and prints a table and, last, one JSON line
(bench/report.py). Everything it creates is removed at the end, Ctrl-C included.
"""
import argparse
import ast
import asyncio
import os
import resource
import signal
import sys
import time
import traceback
from datetime import datetime, timezone

from bench import floors as floors_module
from bench import report, scenarios
from bench.progress import Progress
from bench.stack import ROOT, Stack

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


# The load's numbers: option, type, default, help.
NUMBERS = """
--duration                float  12    measured window of each load scenario, s
--warmup                  float  2     load before each window starts, s
--in-flight               int    32    throughput: createPost requests in flight (closed loop); also floor (a)
--rooms                   int    1     throughput: rooms the posts are spread over
--subscribers-throughput  int    10    throughput: subscribers
--rate                    float  0     latency: posts/s (0: half the measured throughput)
--subscribers             int    100   latency: subscribers, split across the web processes
--fanout-subscribers      int    1000  fanout: subscribers; also floors (b), (c)
--fanout-rate             float  4     fanout: posts/s; also floors (b), (c)
--idle-connections        int    2000  idle: subscribed connections on one web process
--idle-settle             float  3     idle: seconds connected before memory and idle CPU are read
--body-size               int    64    characters in each post's body
--max-connections         int    256   open loop: HTTP connections at most
--connect-concurrency     int    50    WebSocket handshakes at once
--connect-timeout         float  180   time allowed to open a scenario's connections, s
--settle-timeout          float  30    time allowed to drain after a window, s
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--scenarios", default="throughput,latency,fanout,idle", help="comma-separated subset")
    p.add_argument("--users", type=int, default=800,
                   help="posting users; each is paced to the app's post rate limit (10 in 5 s), so the "
                        "closed loop can reach ~users*2 posts/s")
    p.add_argument("--closed-loop-on", choices=["answer", "receipt"], default="answer",
                   help="throughput: a poster sends its next post once createPost answered, or once a "
                        "subscriber received the post (the pipeline's sustainable pace, no backlog)")
    for line in NUMBERS.strip().splitlines():
        option, kind, default, text = line.split(None, 3)
        p.add_argument(option, type={"int": int, "float": float}[kind], default=ast.literal_eval(default), help=text)
    p.add_argument("--no-floor", action="store_true", help="skip the floors")
    p.add_argument("--floors", default="e2e,celery,channels,websockets", help="comma-separated subset of the floors")
    p.add_argument("--floor-duration", type=float, default=6, help="measured window of each floor, s")
    p.add_argument("--profile", default="",
                   help="comma-separated scenarios to profile with py-spy over their measured window "
                        "(bench/profile.py; collapsed stacks in bench/logs/<run>/)")
    p.add_argument("--profile-rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--json-only", action="store_true", help="print only the JSON line (no progress, no table)")
    p.add_argument("--log-level", default="WARNING", help="LOG_LEVEL of the chat's processes (INFO logs every stage)")
    p.add_argument("--rate-limit-posts", type=int, default=1_000_000,
                   help="RATE_LIMIT_POSTS given to the app's environment (used if the app reads it)")
    g = p.add_argument_group("the stack started here")
    g.add_argument("--webs", type=int, default=2, help="`web` processes")
    g.add_argument("--workers", type=int, default=1, help="`worker` processes (the posts queue's)")
    g.add_argument("--amqp-cluster", action="store_true",
                   help="on the three-node RabbitMQ cluster of scripts/rabbitmq-cluster (started if it isn't, "
                        "and then stopped at the end): AMQP_URL lists its nodes, so the pipeline's queues are "
                        "quorum queues (BROKER_QUORUM_QUEUES in the environment says otherwise)")
    g = p.add_argument_group("target a running stack instead of starting one")
    g.add_argument("--web-url", action="append", help="a web process's base URL (repeat for each)")
    g.add_argument("--amqp-url", default=None,
                   help=f"its broker (own stack: the server a vhost is created on; default {DEFAULT_AMQP})")
    g.add_argument("--database-url", default=None,
                   help=f"its database (own stack: the server a database is created on; default {DEFAULT_POSTGRES})")
    g.add_argument("--secret-key", default=os.environ.get("SECRET_KEY"), help="its SECRET_KEY (to sign users' tokens)")
    g.add_argument("--pid", action="append", help="label=PID of a process to measure CPU of (worker=1234)")
    args = p.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(scenarios.SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))} (known: {', '.join(scenarios.SCENARIOS)})")
    args.profile = [s.strip() for s in args.profile.split(",") if s.strip()]
    args.floors = [] if args.no_floor else [f.strip() for f in args.floors.split(",") if f.strip()]
    if args.amqp_cluster and (args.amqp_url or args.web_url):
        p.error("--amqp-cluster starts a stack on the cluster: not with --amqp-url or --web-url")
    if args.webs < 1 or args.workers < 1:
        p.error("--webs and --workers: at least 1")
    args.amqp_url = args.amqp_url or DEFAULT_AMQP
    if not args.web_url:
        args.database_url = args.database_url or DEFAULT_POSTGRES
    return args


def raise_open_file_limit():
    """Thousands of connections need thousands of descriptors, here and in the web process,
    which inherits this limit: so raise it before the stack starts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def readers_needed(args):
    counts = [0]
    if "throughput" in args.scenarios:
        counts.append(args.subscribers_throughput)
    if "latency" in args.scenarios:
        counts.append(args.subscribers)
    if "fanout" in args.scenarios:
        counts.append(args.fanout_subscribers)
    if "idle" in args.scenarios:
        counts.append(args.idle_connections + 5)
    return max(counts)


def rooms_needed(args, stack):
    names = []
    for name in args.scenarios:
        names += [f"{name}-{i}" for i in range(args.rooms if name == "throughput" else 1)]
    if "e2e" in args.floors:
        names.append("floor-e2e-0")
    return [stack.room_id(n) for n in names]


async def drive(args, stack, progress, log_dir, result):
    ctx = scenarios.Context(args, stack, progress)
    try:
        for name in scenarios.RUN_ORDER:
            if name not in args.scenarios:
                continue
            progress.note(f"scenario {name}")
            try:
                result["scenarios"][name] = await scenarios.SCENARIOS[name](ctx)
            except Exception as exc:
                progress.done()
                result["scenarios"][name] = {"error": f"{type(exc).__name__}: {exc}"}
                traceback.print_exc(file=sys.stderr)
            stack.check_alive()
    finally:
        ctx.close()
    if not args.floors:
        return
    if stack.own:
        progress.note("stopping the chat's processes before the floors")
        result["logs"] = stack.log_summary()
        await asyncio.to_thread(stack.stop_app)
    floors = floors_module.Floors(args, stack, progress, log_dir)
    for key, name in (("e2e", "end_to_end"), ("celery", "celery_chain"), ("channels", "channels_fanout"), ("websockets", "websockets_broadcast")):
        if key not in args.floors:
            continue
        try:
            result["floors"][name] = await getattr(floors, name)()
        except Exception as exc:
            progress.done()
            result["floors"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            traceback.print_exc(file=sys.stderr)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)
    fd_limit = raise_open_file_limit()
    progress = Progress(enabled=not args.json_only)
    log_dir = ROOT / "bench" / "logs" / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    log_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(args, log_dir, progress)
    result = {
        "bench": "chat",
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": {k: v for k, v in vars(args).items() if k != "secret_key"},
        "scenarios": {},
        "floors": {},
        "log_dir": str(log_dir),
    }
    failed = False
    try:
        stack.start(posters=args.users, readers=readers_needed(args), rooms=rooms_needed(args, stack))
        asyncio.run(drive(args, stack, progress, log_dir, result))
    except KeyboardInterrupt:
        progress.done()
        print("\nbench: interrupted; cleaning up", file=sys.stderr)
        result["interrupted"] = True
        failed = True
    except Exception as exc:
        progress.done()
        traceback.print_exc(file=sys.stderr)
        result["error"] = f"{type(exc).__name__}: {exc}"
        failed = True
    finally:
        progress.note("cleaning up")
        if "logs" not in result:
            result["logs"] = stack.log_summary()
        try:
            stack.close()
        except KeyboardInterrupt:
            stack.close()  # a second Ctrl-C: finish the cleanup anyway
        progress.done()

    result["stack"] = describe(args, stack, fd_limit)
    result["notes"] = notes(args, stack, result)
    result["ratios"] = report.ratios(result)
    result["took_s"] = round(time.monotonic() - started, 1)
    if not args.json_only:
        print(report.render(result))
    print(report.json_line(result), flush=True)
    failed = failed or any("error" in s for s in result["scenarios"].values()) or any(
        "error" in f for f in result["floors"].values())
    return 1 if failed else 0


def describe(args, stack, fd_limit):
    if stack.own:
        broker = "the three-node cluster of scripts/rabbitmq-cluster" if args.amqp_cluster else "RabbitMQ"
        queues = "quorum" if stack.env.get("BROKER_QUORUM_QUEUES", str(args.amqp_cluster)).lower() in ("1", "true", "yes", "on") else "classic"
        text = (f"own stack: {args.webs} web, {args.workers} worker, bot from the Procfile, database "
                f"{getattr(stack, 'database', '?')}, vhost {getattr(stack, 'vhost', '?')} on {broker} ({queues} queues)")
    else:
        text = f"running stack at {', '.join(url for _, url in stack.webs)}"
    return {"description": text, "own": stack.own, "webs": dict(stack.webs), "open_file_limit": fd_limit,
            "machine_cpus": os.cpu_count(), "log_level": args.log_level,
            "rate_limit": (getattr(stack, "seed", None) or {}).get("rate_limit")}


def notes(args, stack, result):
    out = list(stack.notes)
    if stack.own:
        out.append(f"LOG_LEVEL={args.log_level} for the chat's loggers (INFO logs each stage of each post, "
                   "which costs CPU); Celery's own -l info kept as in the Procfile")
        out.append("web binds 127.0.0.1 instead of the Procfile's 0.0.0.0; otherwise the Procfile's lines as they are")
    limit = (getattr(stack, "seed", None) or {}).get("rate_limit")
    if limit:
        out.append(f"app post rate limit {limit['posts']} per {limit['window_seconds']} s per user: "
                   f"{args.users} posting users, each paced to it")
    out.append("CPU: rabbitmq, postgres_all and machine are machine-wide (other users of the broker, the database "
               "server or the machine count too); postgres is our database's backends only")
    out.append(f"{os.cpu_count()} CPUs shared by the stack and the load generator")
    return out


if __name__ == "__main__":
    sys.exit(main())

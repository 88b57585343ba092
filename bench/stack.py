"""The system under test: the Procfile's processes on a database and vhost of their own, or a
stack someone else started, given by its URLs.

Started by tests/stack.py's Process, Web and Worker, as a deployment starts them: each
Procfile line run by `bash -c "exec <line>"` in a session of its own (so `$$` is the
process's pid and its process group holds its children), waited for by asking (an HTTP
answer, `celery inspect ping`), never by sleeping. Two edits to the lines, both said in the report: `web` binds
127.0.0.1 instead of 0.0.0.0 (all the benchmark's traffic stays on loopback; HOST is set
too), and each
process logs at LOG_LEVEL=WARNING (one log line per stage per post is CPU the benchmark
would otherwise count; Celery's own `-l info` stays as the Procfile has it).

Everything made here is undone by `close()`: process groups (SIGTERM, then SIGKILL), the
vhost, the database, also after Ctrl-C.
"""
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from bench import procfs
from tests.stack import Web, Worker, procfile  # one copy, no pytest in it

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"

def web_command(app=None):
    """The Procfile's `web` line, bound to loopback; `app` replaces the ASGI application
    (the `module:attribute` word, wherever the server takes it)."""
    command = procfile()["web"].replace("0.0.0.0", LOOPBACK)
    if app:
        words = shlex.split(command, posix=False)
        targets = [n for n, w in enumerate(words) if re.fullmatch(r"[\w.]+:[\w.]+", w) and not w[0].isdigit()]
        if not targets:
            raise RuntimeError(f"no module:attribute application in the web line: {command}")
        words[targets[-1]] = app
        command = " ".join(words)
    return command


def worker_command(kind="worker", *, app=None, queue=None, name_prefix=None):
    """A Procfile worker line, optionally with another app, queue and node name: the floor
    worker runs with the same pool, concurrency and flags as the chat's own."""
    def replace(option_value):
        option, value = option_value
        if app and option in ("-A", "--app"):
            return app
        if queue and option in ("-Q", "--queues"):
            return queue
        if name_prefix and option in ("-n", "--hostname"):
            return name_prefix + (value.split("-", 1)[1] if "-" in value.split("@")[0] else value)
        return value

    words = shlex.split(procfile()[kind], posix=False)
    out = []
    for n, word in enumerate(words):
        if word.startswith("--") and "=" in word:
            option, value = word.split("=", 1)
            out.append(f"{option}={replace((option, value))}")
        else:
            out.append(replace((words[n - 1] if n else "", word)))
    return " ".join(out)



def run_checked(args, env, timeout, what):
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    return done


CLUSTER_SCRIPT = ROOT / "scripts" / "rabbitmq-cluster"
CLUSTER_NODE = "chat1@localhost"  # where --amqp-cluster's vhost is made (the cluster shares it)


def rabbitmqctl(*args, check=True, node=None):
    done = subprocess.run(["rabbitmqctl", *(["-n", node] if node else []), *args], capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def with_vhost(amqp_url, vhost):
    """`amqp_url` (one URL, or a cluster's `;`-separated list) on `vhost`."""
    def one(url):
        parts = urlsplit(url.strip())
        return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))

    return ";".join(one(url) for url in amqp_url.split(";") if url.strip())


def cluster_script(*args):
    return run_checked([str(CLUSTER_SCRIPT), *args], os.environ, 300, f"scripts/rabbitmq-cluster {' '.join(args)}").stdout


def with_database(database_url, name):
    parts = urlsplit(database_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name, safe=""), parts.query, ""))


def _pg_admin(server_url, sql):
    import psycopg

    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


class Stack:
    """What the scenarios drive: web URLs, a database to count posts in, a broker, CPU
    sources, the users. `own` stacks are started here and removed at close()."""

    def __init__(self, args, log_dir, progress):
        self.args = args
        self.log_dir = Path(log_dir)
        self.progress = progress
        self.run_id = f"{os.getpid()}"
        self.prefix = f"bench{self.run_id}"
        self.own = not args.web_url
        self.processes = {}
        self.webs = []  # (label, http url)
        self.web_pids = {}  # label -> pid, for RSS
        self.cpu = procfs.CpuMeter()
        self.notes = []
        self._undo = []
        self.stooq = None

    # --- building it ---

    def start(self, posters, readers, rooms):
        if self.own:
            self._start_own()
        else:
            self._use_running()
        self.cpu.add_comm("rabbitmq", ["beam.smp"])
        if self.args.amqp_cluster:  # each node of the cluster as well (`rabbitmq` counts every node)
            for n in (1, 2, 3):
                self.cpu.add_process(f"rabbit-chat{n}", int(cluster_script("pid", str(n))))
        self.cpu.add_postgres_database("postgres", urlsplit(self.database_url).path.lstrip("/"))
        self.cpu.add_comm("postgres_all", ["postgres"])
        self.cpu.add_process("loadgen", os.getpid())
        self.cpu.add_machine("machine")
        self.seed = self._seed(posters, readers, rooms)
        return self

    def _start_own(self):
        args = self.args
        self.vhost = f"chat-bench-{self.run_id}"
        self.database = f"bench_{self.run_id}"
        node = None
        if args.amqp_cluster:
            if subprocess.run([str(CLUSTER_SCRIPT), "status"], capture_output=True, timeout=120).stdout.count(b" running ") < 3:
                self.progress.note("starting the RabbitMQ cluster (scripts/rabbitmq-cluster start)")
                self._undo.append(lambda: cluster_script("stop"))
            cluster_script("start")
            args.amqp_url = cluster_script("url").strip()
            node = CLUSTER_NODE
        self.amqp_url = with_vhost(args.amqp_url, self.vhost)
        self.database_url = with_database(args.database_url, self.database)
        self.secret_key = secrets.token_urlsafe(48)

        self.progress.note(f"creating database {self.database} and vhost {self.vhost}")
        _pg_admin(args.database_url, f'CREATE DATABASE "{self.database}"')
        self._undo.append(self._drop_database)
        rabbitmqctl("add_vhost", self.vhost, node=node)
        self._undo.append(lambda: rabbitmqctl("delete_vhost", self.vhost, check=False, node=node))
        user = urlsplit(args.amqp_url.split(";")[0]).username or "guest"
        rabbitmqctl("set_permissions", "-p", self.vhost, user, ".*", ".*", ".*", node=node)

        from tests.fake_stooq import FakeStooq  # stdlib only; the bot never reaches Stooq

        self.stooq = FakeStooq().__enter__()
        self._undo.append(lambda: self.stooq.__exit__(None, None, None))

        self.env = self.process_env()
        self.progress.note("migrating")
        run_checked([sys.executable, "manage.py", "migrate", "--noinput"], self.env, 600, "manage.py migrate")

        self.progress.note(f"starting {args.webs} web, {args.workers} worker, bot")
        webs = [Web(self.env, label=f"web{n}", command=web_command(), log_dir=self.log_dir)
                for n in range(1, args.webs + 1)]
        # One `worker` keeps its label; several are worker1, worker2, ... (each its own CPU figure).
        worker_labels = ["worker"] if args.workers == 1 else [f"worker{n}" for n in range(1, args.workers + 1)]
        workers = [
            Worker("worker", self.env, self.amqp_url, label=label, command=worker_command("worker"), log_dir=self.log_dir)
            for label in worker_labels
        ] + [Worker("bot", self.env, self.amqp_url, command=worker_command("bot"), log_dir=self.log_dir)]
        self._undo.append(self._stop_processes)
        for process in (*webs, *workers):
            self.processes[process.label] = process.start()
        for process in (*webs, *workers):
            process.wait_ready()
        self.progress.note("metrics: " + ", ".join(f"{p.label} {p.metrics_url}" for p in (*webs, *workers)))
        for web in webs:
            self.webs.append((web.label, web.url))
            self.web_pids[web.label] = web.pid
        for label, process in self.processes.items():
            self.cpu.add_group(label, process.pid)

    def process_env(self):
        """The environment a deployment gives the Procfile's processes."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "DATABASE_URL": self.database_url,
            "AMQP_URL": self.amqp_url,
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "HOST": LOOPBACK,  # a Procfile line may bind ${HOST:-0.0.0.0}
            "LOG_LEVEL": self.args.log_level,
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            # Read by the app if it ever takes the rate limit from the environment (today it
            # is a constant); the load generator paces each user to the limit it reports.
            "RATE_LIMIT_POSTS": str(self.args.rate_limit_posts),
            "RATE_LIMIT_WINDOW_SECONDS": "5",
        }
        if self.stooq is not None:
            env["STOOQ_URL"] = self.stooq.url
        return env

    def _use_running(self):
        args = self.args
        if not args.database_url or not args.secret_key:
            raise SystemExit(
                "targeting a running stack needs --database-url (to create users and count posts) and "
                "--secret-key or SECRET_KEY (to sign their tokens)"
            )
        self.amqp_url = args.amqp_url
        self.database_url = args.database_url
        self.secret_key = args.secret_key
        self.env = self.process_env()
        for n, url in enumerate(args.web_url, start=1):
            label = f"web{n}"
            url = url.rstrip("/")
            self.webs.append((label, url))
            port = urlsplit(url).port or 80
            pid = procfs.listening_pid(port) if urlsplit(url).hostname in ("127.0.0.1", "localhost") else None
            if pid:
                self.web_pids[label] = pid
                self.cpu.add_group(label, os.getpgid(pid))
            else:
                self.notes.append(f"{label} ({url}): no pid found, its CPU and RSS are not measured")
        for spec in args.pid or []:
            label, _, pid = spec.partition("=")
            self.cpu.add_group(label, os.getpgid(int(pid)))
        self._undo.append(self._remove_seeded)

    def _seed(self, posters, readers, rooms):
        self.progress.note(f"creating {posters} posting users, {readers} reading users, {len(rooms)} rooms")
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            out = f.name
        try:
            run_checked(
                [sys.executable, "-m", "bench.seed", "--out", out, "--prefix", self.prefix,
                 "--posters", str(posters), "--readers", str(readers), "--rooms", ",".join(rooms)],
                self.env, 300, "creating users (bench.seed)",
            )
            with open(out) as f:
                return json.load(f)
        finally:
            os.unlink(out)

    def room_id(self, name):
        return f"{self.prefix}-{name}"

    # --- reading it ---

    def db(self):
        """A new autocommit connection to the stack's database (one per thread)."""
        import psycopg

        return psycopg.connect(self.database_url, autocommit=True, connect_timeout=10)

    def profile_targets(self):
        """(label, pid) of each process whose CPU we measure and may profile."""
        if self.own:
            return [(label, process.pid) for label, process in self.processes.items()]
        return list(self.web_pids.items()) + [
            (label, int(pid)) for label, _, pid in (spec.partition("=") for spec in self.args.pid or [])]

    def rss_kib(self, label):
        pid = self.web_pids.get(label)
        return procfs.rss_kib(pid) if pid else None

    def check_alive(self):
        for process in self.processes.values():
            process.check_alive()

    def log_summary(self):
        """Per process: how many ERROR/CRITICAL lines and tracebacks its log has, and the
        first few distinct ones, so the report says when the app, not the load, failed."""
        summary = {}
        for label, process in self.processes.items():
            errors, warnings, samples = 0, 0, []
            for line in process.log().splitlines():
                if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line):
                    errors += 1
                    text = re.sub(r"^\S+ \S+ ", "", line)[:200]
                    if len(samples) < 3 and text not in samples:
                        samples.append(text)
                elif re.search(r"\bWARNING\b", line):
                    warnings += 1
            summary[label] = {"errors": errors, "warnings": warnings, "samples": samples, "log": str(process.log_path)}
        return summary

    # --- undoing it ---

    def stop_app(self):
        """Stop the chat's processes (before the floors run, so they don't share the CPU)."""
        self._stop_processes()

    def _stop_processes(self):
        for process in reversed(list(self.processes.values())):
            process.stop()

    def _drop_database(self):
        _pg_admin(self.args.database_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def _remove_seeded(self):
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            run_checked([sys.executable, "-m", "bench.seed", "--out", f.name, "--prefix", self.prefix, "--remove"],
                        self.env, 120, "removing the benchmark's users")

    def close(self):
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:  # keep undoing the rest
                print(f"bench: cleanup step failed: {exc!r}", file=sys.stderr)

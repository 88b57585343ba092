"""`make stack`: the full stack on this machine, as the Procfile runs it. With RabbitMQ and
PostgreSQL up and AMQP_URL and DATABASE_URL set (or in `.env`): migrate, then one process
per Procfile line (`--web N` web processes), each in a process group of its own, its output
prefixed with its name; then where to open the chat. Ctrl-C (or SIGTERM, or any of them ending) stops them all.

Ports: the webs serve PORT, PORT+1, ... (8000 by default, on HOST, 127.0.0.1 by default);
every process serves its metrics (chatsite/metrics.py) on METRICS_PORT + its number (9200
by default; METRICS_PORT=0: none). SECRET_KEY unset: one is made for this run.
"""
import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from chatsite.dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
METRICS_BASE = 9200
STOP_SECONDS = 10
READY_SECONDS = 60


def procfile():
    """The Procfile's entries, in order: {name: command}."""
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        match = re.match(r"^([\w-]+):\s*(.+)$", line.strip())
        if match:
            entries[match.group(1)] = match.group(2)
    return entries


class Stack:
    def __init__(self, env, webs):
        self.env, self.webs = env, webs
        self.processes = []  # (name, Popen)
        self.printing = threading.Lock()

    def say(self, name, line):
        with self.printing:
            print(f"{name:<8}| {line}", flush=True)

    def start(self):
        port, metrics = int(self.env.get("PORT") or 8000), self.env.get("METRICS_PORT")
        metrics = METRICS_BASE if metrics in (None, "") else int(metrics)
        plan = [
            (f"{kind}.{n}" if kind == "web" else kind, command)
            for kind, command in procfile().items()
            for n in (range(1, self.webs + 1) if kind == "web" else [1])
        ]
        for number, (name, command) in enumerate(plan):
            env = {**self.env, "METRICS_PORT": str(metrics + number if metrics else 0)}
            if name.startswith("web."):
                env["PORT"] = str(port + int(name.split(".")[1]) - 1)
            # `exec`: one process per entry (`$$`, a worker's name, is its pid); a session of
            # its own, so Ctrl-C reaches us alone and we stop each one in order.
            process = subprocess.Popen(
                ["bash", "-c", f"exec {command}"], cwd=ROOT, env=env, start_new_session=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
            )
            self.processes.append((name, process))
            threading.Thread(target=self._relay, args=(name, process), daemon=True).start()
            if metrics:
                self.say(name, f"metrics at http://{env.get('METRICS_ADDR') or '127.0.0.1'}:{metrics + number}/metrics")
        return [f"http://127.0.0.1:{port + n}" for n in range(self.webs)]

    def _relay(self, name, process):
        for line in process.stdout:
            self.say(name, line.rstrip("\n"))

    def ended(self):
        """The first process that has exited, or None."""
        return next(((name, p.returncode) for name, p in self.processes if p.poll() is not None), None)

    def stop(self):
        for _, process in self.processes:
            self._signal(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for _, process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            self._signal(process, signal.SIGKILL)  # what is left of its group
            process.wait()

    @staticmethod
    def _signal(process, sig):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass


def answers(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url + "/admin/login/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(prog="make stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--web", type=int, default=1, metavar="N", help="web processes (default 1)")
    args = parser.parse_args(argv)
    load_dotenv(ROOT / ".env")
    missing = [name for name in ("AMQP_URL", "DATABASE_URL") if not os.environ.get(name)]
    if missing or args.web < 1:
        print(f"make stack: set {' and '.join(missing) or 'a positive --web'} (README, 'Running the full stack');"
              " `make run` needs neither.", file=sys.stderr)
        return 2
    env = {**os.environ, "HOST": os.environ.get("HOST") or "127.0.0.1", "PYTHONUNBUFFERED": "1"}
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = secrets.token_urlsafe(50)
        print("SECRET_KEY is unset: one made for this run (its sessions and tokens end with it).")
    # Ctrl-C, even when started where SIGINT is ignored (in the background of a script).
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    stack = Stack(env, args.web)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True)
        urls = stack.start()
        deadline = time.monotonic() + READY_SECONDS
        while not all(answers(url) for url in urls):
            if stack.ended() or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        else:
            stack.say("stack", f"the chat is at {' and '.join(urls)} (Ctrl-C stops everything)")
        while (ended := stack.ended()) is None:
            time.sleep(0.2)
        stack.say("stack", f"{ended[0]} exited with {ended[1]}: stopping the rest")
        return 1
    except KeyboardInterrupt:
        stack.say("stack", "stopping")
        return 0
    except subprocess.CalledProcessError as error:
        print(f"make stack: migrate failed ({error.returncode})", file=sys.stderr)
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second one must not cut the stopping short
            signal.signal(sig, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())

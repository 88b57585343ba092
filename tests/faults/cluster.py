"""The three-node RabbitMQ cluster of scripts/rabbitmq-cluster, for the fault tests: started
by the script (never the system's node on 5672), a vhost of each test's own on it, which node
leads a queue and which nodes a process is connected to, and what a fault cost the clients."""
import json
import os
import subprocess
import time
import uuid
from urllib.parse import quote

from tests.stack import ARTIFACTS, ROOT

SCRIPT = ROOT / "scripts" / "rabbitmq-cluster"
NODES = 3
PORTS = {f"chat{n}@localhost": 5700 + n for n in range(1, NODES + 1)}


def script(*args, timeout=300):
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"scripts/rabbitmq-cluster {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout.strip()


def running():
    """Whether every node runs (the script's `status` says each one's state)."""
    done = subprocess.run([str(SCRIPT), "status"], capture_output=True, text=True, timeout=120)
    return done.returncode == 0 and done.stdout.count(" running ") == NODES


def rabbitmqctl(node, *args):
    done = subprocess.run(["rabbitmqctl", "-q", "-n", node, *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"rabbitmqctl -n {node} {' '.join(args)}: {done.stderr}")
    return done.stdout


def node_number(node):
    return int(node.split("@")[0].removeprefix("chat"))


class Vhost:
    """A vhost of its own on the cluster; `url` names it on every node, `;`-separated."""

    def __init__(self):
        self.name = f"chat-cluster-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.url = ";".join(f"amqp://guest:guest@127.0.0.1:{port}/{quote(self.name, safe='')}" for port in PORTS.values())

    def __enter__(self):
        rabbitmqctl("chat1@localhost", "add_vhost", self.name)
        rabbitmqctl("chat1@localhost", "set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return self

    def __exit__(self, *exc):
        for node in PORTS:
            try:
                rabbitmqctl(node, "delete_vhost", self.name)
                return
            except AssertionError:
                continue

    def queues(self, node=None):
        """{name: (type, leader)} as `node` (any running one) sees them."""
        for asked in [node] if node else PORTS:
            try:
                out = rabbitmqctl(asked, "list_queues", "-p", self.name, "name", "type", "leader", "--formatter", "json")
            except AssertionError:
                continue
            return {q["name"]: (q["type"], q.get("leader")) for q in json.loads(out)}
        raise AssertionError("no node of the cluster answers")

    def leader(self, queue):
        return self.queues()[queue][1]


def nodes_of(pid):
    """The cluster nodes process `pid` holds TCP connections to."""
    out = subprocess.run(["ss", "-tnpH", "state", "established"], capture_output=True, text=True).stdout
    ports = {port: node for node, port in PORTS.items()}
    found = set()
    for line in out.splitlines():
        if f"pid={pid}," not in line:
            continue
        peer = line.split()[3]  # Recv-Q Send-Q Local Peer (state filtered out)
        port = int(peer.rsplit(":", 1)[1])
        if port in ports:
            found.add(ports[port])
    return found


def refused_window(traffic, since, until=float("inf")):
    """createPost's answers that came after `since` to questions asked before `until` (one in
    flight when the fault began counts): how many were UNAVAILABLE, from the first such
    question to the last such answer (s), and the slowest answer of any kind (s)."""
    after = [(asked, answered, code) for asked, answered, code in traffic.answers if answered >= since and asked < until]
    unavailable = [(asked, answered) for asked, answered, code in after if code == "UNAVAILABLE"]
    return {
        "answers": len(after),
        "unavailable": len(unavailable),
        "unavailable_window_s": round(unavailable[-1][1] - unavailable[0][0], 2) if unavailable else 0.0,
        "slowest_answer_s": round(max((answered - asked for asked, answered, _ in after), default=0.0), 2),
    }


def longest_wait(reader, since, until):
    """The longest time `reader` went without a post between `since` and `until` (s), while
    posts kept being accepted every fraction of a second."""
    times = [since] + [at for at in reader.received_at if since < at < until] + [until]
    return round(max(b - a for a, b in zip(times, times[1:])), 2)


def record(name, figures):
    """Print the figures and keep them in test-artifacts/cluster-faults.json (one key per test)."""
    path = ARTIFACTS / "cluster-faults.json"
    ARTIFACTS.mkdir(exist_ok=True)
    kept = json.loads(path.read_text()) if path.exists() else {}
    kept[name] = {**figures, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path.write_text(json.dumps(kept, indent=2) + "\n")
    print(f"\n{name}: {json.dumps(figures)}")

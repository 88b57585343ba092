"""CPU time and memory of processes, read from /proc.

Why /proc and not wall-clock throughput alone: the load generator shares the machine's two
cores with the stack, so "posts per second" moves with whatever else runs. CPU seconds
spent by each process per post (or per delivery) do not: they hold while the generator, or
another engineer's test run, competes for the CPU.

A "process" here is a process group: a Procfile entry started in its own session, so a
Celery worker's prefork children count with their parent. Times of children already reaped
are in their parent's cutime/cstime, which we add as well, so nothing that ran is lost.
"""
import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")



def _pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]



def _cpu_of(fields):
    # After the name: [0] state, [1] ppid, [2] pgrp, ... [11] utime, [12] stime,
    # [13] cutime, [14] cstime (man 5 proc, fields 14-17).
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS





def rss_kib(pid):
    """Resident memory of one process, KiB (VmRSS)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0



def listening_pid(port):
    """The pid that listens on TCP `port` on this machine (for a stack we did not start),
    found through the socket's inode; None when we may not see it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, state, inode = parts[1], parts[3], parts[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(inode)
        except OSError:
            continue
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for pid in _pids():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in targets:
                    return pid
        except OSError:
            continue
    return None


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ") + b" "
    except OSError:
        return b""


def machine_cpu_seconds():
    """Busy CPU seconds of the whole machine since boot (all but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def snapshot():
    """[(pid, pgrp, command name, cpu seconds)] of every process we can see, in one pass."""
    rows = []
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
            name = data[data.index(b"(") + 1 : data.rindex(b")")].decode(errors="replace")
            fields = data[data.rindex(b")") + 2 :].split()
            rows.append((pid, int(fields[2]), name, _cpu_of(fields)))
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
    return rows


class CpuMeter:
    """Named CPU sources, sampled together from one pass over /proc:
    `sample()` -> {name: cpu seconds}."""

    def __init__(self):
        self.sources = {}  # name -> predicate on (pid, pgrp, command name)

    def add_group(self, name, pgid):
        self.sources[name] = lambda pid, pgrp, comm: pgrp == pgid

    def add_process(self, name, pid):
        self.sources[name] = lambda p, pgrp, comm, _pid=pid: p == _pid

    def add_comm(self, name, names):
        names = frozenset(names)
        self.sources[name] = lambda pid, pgrp, comm: comm in names

    def add_postgres_database(self, name, database):
        """PostgreSQL backends serving one database, found by their process title
        ("postgres: <user> <database> <client> <state>"): our stack's share of the server,
        whoever else uses it. Long-lived connections only (a backend's time leaves with it)."""
        needle = f" {database} ".encode()
        self.sources[name] = lambda pid, pgrp, comm: comm == "postgres" and needle in _cmdline(pid)

    def add_machine(self, name="machine"):
        """Every CPU second the machine spent (from /proc/stat), ours or anyone's: when it
        exceeds the sum of our processes, something else ran during the window."""
        self.sources[name] = None

    def sample(self):
        rows = snapshot()
        return {
            name: machine_cpu_seconds() if match is None
            else sum(cpu for pid, pgrp, comm, cpu in rows if match(pid, pgrp, comm))
            for name, match in self.sources.items()
        }

    @staticmethod
    def delta(before, after):
        return {name: max(0.0, after[name] - before.get(name, 0.0)) for name in after}

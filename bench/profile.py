"""`--profile`: py-spy on each of the chat's processes over a scenario's measured window.

For every process the bench started (or was given with `--pid`), `py-spy record` samples
the process and its children (`--subprocesses`) at `--profile-rate` Hz, on-CPU samples only
(py-spy leaves idle threads out), and writes the collapsed stacks to
`bench/logs/<run>/profile-<scenario>-<label>.txt` (one `frame;frame;... count` line per
stack, the format flamegraph.pl and speedscope read). `summarize` then ranks functions two
ways: self (the leaf frame: where the CPU is spent) and inclusive by the first frame of the
chat's own code (which of our functions the time is spent under).
"""
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

OUR_PACKAGES = ("chatsite/", "posts/", "rooms/", "accounts/", "stockbot/", "web/")
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy():
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    def __init__(self, stack, log_dir, rate):
        self.stack, self.log_dir, self.rate = stack, Path(log_dir), rate
        self.running = []

    def start(self, scenario, duration):
        binary = py_spy()
        if binary is None:
            raise RuntimeError("--profile needs py-spy (pip install py-spy; requirements-dev.txt has it)")
        for label, pid in self.stack.profile_targets():
            out = self.log_dir / f"profile-{scenario}-{label}.txt"
            command = [binary, "record", "--pid", str(pid), "--subprocesses", "--rate", str(self.rate),
                       "--duration", str(max(1, round(duration))), "--format", "raw", "--output", str(out),
                       "--nonblocking", "--gil"]
            log = open(self.log_dir / f"profile-{scenario}-{label}.log", "w")
            self.running.append((label, out, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)))

    def collect(self, timeout=60):
        """Waits for the recorders; {label: summary} of what they wrote."""
        summaries = {}
        for label, out, process in self.running:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
            if out.exists():
                summaries[label] = summarize(out)
                summaries[label]["file"] = str(out)
        self.running = []
        return summaries


def _frames(stack):
    """A collapsed stack's frames, outermost first, as (function, file)."""
    frames = []
    for part in stack.split(";"):
        match = FRAME.match(part.strip())
        frames.append((match["func"], match["file"]) if match else (part.strip(), ""))
    return frames


def _short(func, file):
    for marker in ("site-packages/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    else:
        file = file.rsplit("/work/", 1)[-1].split("/", 1)[-1] if "/work/" in file else file
    return f"{func} ({file})"


def _ours(file):
    return "site-packages" not in file and any(f"/{p}" in file or file.startswith(p) for p in OUR_PACKAGES)


def summarize(path, top=25):
    """Ranks of self time (leaf frame) and of time under each of our functions (the
    innermost of our frames on the stack), as shares of all samples."""
    self_time, ours, total = Counter(), Counter(), 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in _frames(stack) if not f[0].startswith("process ") and not f[0].startswith("thread ")]
        if not frames:
            continue
        self_time[_short(*frames[-1])] += n
        innermost_ours = next((f for f in reversed(frames) if _ours(f[1])), None)
        ours[_short(*innermost_ours) if innermost_ours else "(none of ours on the stack)"] += n

    def ranked(counter):
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)] if total else []

    return {"samples": total, "self": ranked(self_time), "under_ours": ranked(ours)}


def render(summaries, top=12):
    lines = []
    for label, s in summaries.items():
        lines.append(f"  {label}: {s['samples']} samples ({s['file']})")
        lines.append("    self (leaf frame)                                                         %")
        lines += [f"      {name[:72]:72s} {share:5.1f}" for name, share in s["self"][:top]]
        lines.append("    under our innermost function                                              %")
        lines += [f"      {name[:72]:72s} {share:5.1f}" for name, share in s["under_ours"][:top]]
    return "\n".join(lines)

"""A progress bar on stderr: one line redrawn in place on a terminal, a line every few
seconds otherwise (make's output in a log), nothing with --json-only.

Why it exists: a run takes minutes and most of it is waiting; the bar says which phase runs,
how far it is, and the live counts (posts, deliveries), so a stuck run shows as stuck.
"""
import asyncio
import shutil
import sys
import time

WIDTH = 28


class Progress:
    def __init__(self, enabled=True, stream=sys.stderr):
        self.enabled = enabled
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self._last_line = 0.0
        self._drawn = False

    def _elapsed(self):
        return f"{time.monotonic() - self.started:6.1f}s"

    def note(self, text):
        """A one-off line: a phase starting."""
        if not self.enabled:
            return
        self._clear()
        print(f"[bench {self._elapsed()}] {text}", file=self.stream, flush=True)

    def draw(self, label, fraction, status=""):
        if not self.enabled:
            return
        fraction = min(1.0, max(0.0, fraction))
        filled = int(fraction * WIDTH)
        bar = "#" * filled + "-" * (WIDTH - filled)
        line = f"[bench {self._elapsed()}] {label:<18} [{bar}] {fraction * 100:3.0f}% {status}"
        if self.tty:
            width = self._width()
            self.stream.write("\r" + line[:width].ljust(width))
            self.stream.flush()
            self._drawn = True
        elif time.monotonic() - self._last_line >= 5 or fraction >= 1.0:
            print(line, file=self.stream, flush=True)
            self._last_line = time.monotonic()

    def _width(self):
        return max(40, shutil.get_terminal_size((120, 20)).columns - 1)

    def _clear(self):
        if self._drawn:
            self.stream.write("\r" + " " * self._width() + "\r")
            self._drawn = False

    def done(self):
        if self.enabled:
            self._clear()

    async def ticker(self, label, start, seconds, status):
        """Redraw every 0.25 s until cancelled: `status()` gives the live counts."""
        try:
            for _ in range(int(seconds * 4) + 100000):
                self.draw(label, (time.monotonic() - start) / seconds if seconds else 1.0, status())
                await asyncio.sleep(0.25)
        except asyncio.CancelledError:
            self.draw(label, 1.0, status())
            self._clear()
            raise

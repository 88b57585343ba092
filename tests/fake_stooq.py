"""A local stand-in for Stooq (not reachable from here), answering by symbol."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HEADER = "Symbol,Date,Time,Open,High,Low,Close,Volume\r\n"

ANSWERS = {
    "aapl.us": (200, HEADER + "AAPL.US,2026-11-27,22:00:09,93.1,94.2,92.8,93.42,41234567\r\n"),
    "msft.us": (200, HEADER + "MSFT.US,2026-11-27,22:00:09,410.5,415.0,409.0,412.07,1234567\r\n"),
    "nope.us": (200, HEADER + "NOPE.US,N/D,N/D,N/D,N/D,N/D,N/D,N/D\r\n"),
    "html.us": (200, "<!DOCTYPE html><html><body>Get your apikey</body></html>"),
    "limit.us": (200, "Exceeded the daily hits limit"),
    "empty.us": (200, ""),
    "short.us": (200, HEADER + "SHORT.US,2026-11-27\r\n"),
    "oops.us": (500, "Internal Server Error"),
}
SLOW = "slow.us"


class FakeStooq:
    """`requests`: paths as they arrive; `answered`: paths once their answer is
    about to be sent (the hang is over).
    `slow_answer` (status, body) replaces the slow symbol's N/D answer when given."""

    def __init__(self, slow_seconds=7, slow_answer=None):
        self.requests = []
        self.answered = []
        self.slow_seconds = slow_seconds
        self.slow_answer = slow_answer
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.requests.append(self.path)
                query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
                code = query.get("s", [""])[0].lower()
                if code == SLOW:
                    time.sleep(fake.slow_seconds)
                status, body = ANSWERS.get(code, (200, HEADER + f"{code.upper()},N/D,N/D,N/D,N/D,N/D,N/D,N/D\r\n"))
                if code == SLOW and fake.slow_answer is not None:
                    status, body = fake.slow_answer
                data = body.encode()
                fake.answered.append(self.path)  # before the answer leaves: no client saw it earlier
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/csv" if body.startswith("Symbol") else "text/html")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/q/l/"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

"""A stand-in child for the supervisor tests: an HTTP server whose start, readiness and exit are scripted.

    python fake_service.py --port P [--ready-after S] [--require URL] [--exit-after S --status N]
                           [--ignore-sigterm] [--say TEXT]

``/ready`` answers 503 until ``--ready-after`` seconds have passed, then 200. ``--require`` exits at once with
status 3 when that URL does not answer 200 (proves the supervisor's start order). SIGTERM exits 0 unless
``--ignore-sigterm``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-after", type=float, default=0.0)
    parser.add_argument("--require")
    parser.add_argument("--exit-after", type=float)
    parser.add_argument("--status", type=int, default=1)
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--say", default="")
    args = parser.parse_args()
    if args.require:
        try:
            with urllib.request.urlopen(args.require, timeout=1) as response:
                if response.status != 200:
                    sys.exit(3)
        except OSError:
            print(f"required {args.require} is not up", flush=True)
            sys.exit(3)
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ready = time.monotonic() - started >= args.ready_after
            self.send_response(200 if ready else 503)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.say:
        print(args.say, flush=True)
    print(f'{{"event": "listening", "level": "info", "port": {args.port}}}', flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if args.exit_after is not None:
        time.sleep(args.exit_after)
        sys.exit(args.status)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

"""A customer's webhook receiver, as its own process, for the tests.

`python -m tests.outbound_webhooks.receiver LOG STATUS...` listens on a free loopback port
(printed as the first line of stdout), answers the n-th POST with the n-th STATUS (the last
one repeats; `hang` holds the request for a minute) and appends every request it is sent
as one JSON line to LOG: {"headers": {...}, "body": "..."}, written before it answers."""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main(log_path: str, *statuses: str) -> None:
    plan = list(statuses) or ["200"]
    lock = threading.Lock()
    seen = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            with lock:
                answer = plan[min(seen[0], len(plan) - 1)]
                seen[0] += 1
                with open(log_path, "a") as log:
                    log.write(json.dumps({"headers": dict(self.headers), "body": body}) + "\n")
            if answer == "hang":
                time.sleep(60)
                answer = "200"
            reply = f"answer {seen[0]}: {answer}".encode()
            self.send_response(int(answer))
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:])

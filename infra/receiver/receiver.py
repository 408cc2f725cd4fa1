"""A webhook endpoint that verifies signatures with the official Standard Webhooks library.

wagate's tests use it to check wagate's signing with code that is not wagate's own. It reads
one line of JSON from stdin, {"name": "whsec_...", ...}, the secrets to try; listens on a free
port of 127.0.0.1 and prints "listening PORT"; then verifies every POST against each secret on
its own and answers with what it found:

    {"verified": {"name": true, ...}, "errors": {"name": "why not", ...}, "signatures": 2}

with status 200 when at least one secret verifies and 401 otherwise. "signatures" counts the
entries of the webhook-signature header. It exits when stdin closes, so it never outlives the
test that started it.

Usage: python receiver.py < secrets.json
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


def main() -> None:
    secrets = json.loads(sys.stdin.readline())
    verifiers = {name: Webhook(secret) for name, secret in secrets.items()}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = dict(self.headers.items())
            verified, errors = {}, {}
            for name, webhook in verifiers.items():
                try:
                    webhook.verify(body, headers)
                    verified[name] = True
                except Exception as e:  # a malformed header is a failed check too
                    verified[name] = False
                    errors[name] = f"{type(e).__name__}: {e}"
            answer = json.dumps({
                "verified": verified,
                "errors": errors,
                "signatures": len(self.headers.get("webhook-signature", "").split()),
            }).encode()
            self.send_response(200 if any(verified.values()) else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening {server.server_port}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()

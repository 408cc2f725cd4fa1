"""moto's server, with DynamoDB requests applied one at a time.

moto's threaded server applies concurrent DynamoDB writes to the same item without a lock, so
two simultaneous `ADD counter :1` updates can lose one. Real DynamoDB (and DynamoDB Local,
behind LocalStack) applies every write to an item atomically; wagate's exact counters rely on
that. Serialising DynamoDB requests gives the emulator the same guarantee, while SQS long polls
still run side by side.

Usage: python serve.py -H 127.0.0.1 -p 5000
"""

import argparse
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    moto_app = DomainDispatcherApplication(create_backend_app)
    dynamodb_lock = threading.Lock()

    def app(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with dynamodb_lock:
                # Build the whole response inside the lock: the write happens while it is made.
                return list(moto_app(environ, start_response))
        return moto_app(environ, start_response)

    run_simple(
        args.host,
        args.port,
        app,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()

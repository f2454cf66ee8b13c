#!/usr/bin/env python3
"""A webhook receiver for the tests (SPEC §8): listens on 127.0.0.1:PORT, verifies every request's Standard Webhooks
signature with the secret in SECRET_FILE (read at each request, so the test can write it after registering), answers
500 to the first FAIL_FIRST requests and 200 after, and appends one JSON line per request to LOG_FILE.

Usage: webhook_receiver.py PORT SECRET_FILE LOG_FILE [FAIL_FIRST]
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The Swift test runner starts children with SIGTERM ignored (and blocked); the test stops this one with SIGTERM.
signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})

port, secret_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fail_first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
lock = threading.Lock()
seen = 0


def verify(secret, msg_id, timestamp, body, header):
    """Standard Webhooks: HMAC-SHA256 with the base64 key after whsec_, over "id.timestamp.body"; any v1 signature."""
    if not secret.startswith("whsec_"):
        return False
    key = base64.b64decode(secret[len("whsec_"):])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()
    for part in header.split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            with open(secret_file) as f:
                secret = f.read().strip()
        except OSError:
            secret = ""
        msg_id = self.headers.get("webhook-id", "")
        timestamp = self.headers.get("webhook-timestamp", "")
        signature = self.headers.get("webhook-signature", "")
        valid = verify(secret, msg_id, timestamp, body, signature)
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        with lock:
            seen += 1
            status = 500 if seen <= fail_first else 200
            record = {"n": seen, "path": self.path, "webhook_id": msg_id, "timestamp": timestamp, "signature": signature,
                      "valid": valid, "fresh": fresh, "answered": status,
                      "content_type": self.headers.get("content-type", ""), "body": body.decode("utf-8", "replace")}
            with open(log_file, "a") as f:
                f.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def watchdog(parent):
    """Ends this receiver when the test that started it is gone (or after 15 minutes), whatever its signal mask."""
    deadline = time.monotonic() + 900
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.5)
    os._exit(0)


threading.Thread(target=watchdog, args=(os.getppid(),), daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(f"listening on 127.0.0.1:{port}", flush=True)
server.serve_forever()

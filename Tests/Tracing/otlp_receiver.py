#!/usr/bin/env python3
"""A stand-in OpenTelemetry collector for the tests: takes OTLP/HTTP JSON at POST /v1/traces on loopback and appends
each request's body, one JSON document a line, to OUT. Prints the port it listens on, then serves until killed.

    otlp_receiver.py OUT
"""
import http.server
import json
import signal
import sys

# A test runner may ignore SIGTERM, and children inherit that: stop when told to.
signal.signal(signal.SIGTERM, signal.SIG_DFL)

OUT = sys.argv[1]


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/v1/traces" or "json" not in (self.headers.get("Content-Type") or ""):
            self.send_response(415 if self.path == "/v1/traces" else 404)
            self.end_headers()
            return
        with open(OUT, "a") as f:
            f.write(json.dumps(json.loads(body)) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()

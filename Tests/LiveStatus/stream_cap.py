#!/usr/bin/env python3
"""The cap on open live-status streams across Gateways, from outside (SPEC §10), with nothing but the standard library.

Opens MEDIA_CAP streams of one user, alternating between the Gateways of MEDIA_CAP_GATEWAYS (comma-separated
http://host:port), each read until its ': stream open' line; then asks for one more on each Gateway (both must answer
429 too_many_streams), closes one stream and asks again until a stream opens (the closed one stops counting once its
Gateway notices, at its next keep-alive). Prints one JSON line: the statuses and codes seen.

Environment: MEDIA_CAP_GATEWAYS, MEDIA_CAP_TOKEN, MEDIA_CAP (the cap).
"""
import http.client
import json
import os
import signal
import time
import urllib.parse

signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.alarm(120)

gateways = [urllib.parse.urlparse(u) for u in os.environ["MEDIA_CAP_GATEWAYS"].split(",")]
token = os.environ["MEDIA_CAP_TOKEN"]
cap = int(os.environ["MEDIA_CAP"])


def open_stream(target):
    c = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    c.request("GET", "/api/media/events/", headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    if r.status != 200:
        body = json.loads(r.read() or b"{}")
        c.close()
        return None, r.status, body.get("code"), r.getheader("Retry-After")
    line = r.fp.readline()
    while line and not line.startswith(b": stream open"):
        line = r.fp.readline()
    return (c, r), 200, None, None


result = {"opened": [], "refused": [], "after_close": None}
streams = []
for i in range(cap):
    s, status, code, _ = open_stream(gateways[i % len(gateways)])
    result["opened"].append(status)
    if s:
        streams.append(s)
for g in gateways:
    _, status, code, retry = open_stream(g)
    result["refused"].append({"status": status, "code": code, "retry_after": retry})
c, r = streams.pop(0)
r.close()
c.close()
deadline = time.time() + 30
while time.time() < deadline:
    s, status, code, _ = open_stream(gateways[0])
    if s:
        result["after_close"] = status
        streams.append(s)
        break
    time.sleep(0.2)
for c, r in streams:
    c.close()
print(json.dumps(result))

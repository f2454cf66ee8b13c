#!/usr/bin/env python3
"""A browser-style live-status client for the end-to-end test (SPEC §8), with nothing but the standard library.

User A opens GET /api/media/events/ with its bearer token and uploads a video; user B opens the stream with a one-use
ticket (as EventSource must) and uploads an image. A's client drops its connection after the second progress event of
its video, waits while the video goes on, and reconnects with Last-Event-ID to another Gateway (MEDIA_SSE_GATEWAY2, when
given), reading until the video is ready. Prints
one JSON line with what each connection saw; the Swift test judges it against the database.

Environment: MEDIA_SSE_GATEWAY (http://127.0.0.1:PORT), optional MEDIA_SSE_GATEWAY2, MEDIA_SSE_TOKEN_A, MEDIA_SSE_TOKEN_B, MEDIA_SSE_VIDEO,
MEDIA_SSE_IMAGE (file paths).
"""
import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import uuid

signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.alarm(300)

gateway = urllib.parse.urlparse(os.environ["MEDIA_SSE_GATEWAY"])
gateway2 = urllib.parse.urlparse(os.environ.get("MEDIA_SSE_GATEWAY2") or os.environ["MEDIA_SSE_GATEWAY"])
token_a, token_b = os.environ["MEDIA_SSE_TOKEN_A"], os.environ["MEDIA_SSE_TOKEN_B"]


def connection(target=None):
    target = target or gateway
    return http.client.HTTPConnection(target.hostname, target.port, timeout=120)


def request(method, path, token, body=None, headers=None):
    c = connection()
    h = {"Authorization": f"Bearer {token}"}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None


def upload(path, token):
    boundary = uuid.uuid4().hex
    with open(path, "rb") as f:
        content = f.read()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{os.path.basename(path)}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    status, media = request("POST", "/api/media/upload/", token, body,
                            {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 201, (status, media)
    return media["id"]


class Stream:
    """One SSE connection: parses events (id, event, data) and comments as they arrive."""

    def __init__(self, path, headers, target=None):
        self.conn = connection(target)
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.content_type = self.response.getheader("Content-Type")
        self.comments = 0
        if self.status == 200:
            self.wait_open()

    def wait_open(self):
        """Reads up to the server's `: stream open`, written once the stream is subscribed: from then on no event of
        the user's is missed (uploading before that could be)."""
        while True:
            line = self.response.readline()
            if not line or line.startswith(b": stream open"):
                return

    def events(self):
        fields = {}
        while True:
            line = self.response.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line == "":
                if "data" in fields:
                    yield {"id": int(fields["id"]), "type": fields.get("event"), "data": json.loads(fields["data"])}
                fields = {}
            elif line.startswith(": keep-alive"):
                self.comments += 1
            else:
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value

    def close(self):
        self.conn.sock.close()  # the client goes away mid-stream, as a closed tab or a lost network does
        self.conn.close()


def summary(event):
    data = event["data"]
    return {"id": event["id"], "type": event["type"], "media": data.get("id"), "percent": data.get("percent"),
            "status": data.get("status")}


result = {}

# B: a ticket, then the stream with it (no header); the same ticket again is refused.
status, issued = request("POST", "/api/media/events/ticket/", token_b)
assert status == 201, (status, issued)
b_stream = Stream(f"/api/media/events/?ticket={issued['ticket']}", {})
result["b_status"] = b_stream.status
reuse = connection()
reuse.request("GET", f"/api/media/events/?ticket={issued['ticket']}")
reused = reuse.getresponse()
result["ticket_reuse_status"] = reused.status
reused.read()
reuse.close()
b_events = []
b_done = threading.Event()


def read_b():
    for event in b_stream.events():
        b_events.append(summary(event))
        if event["type"] == "media.ready":
            b_done.set()
            break


threading.Thread(target=read_b, daemon=True).start()

# A: the stream with the bearer token; then the video.
a_stream = Stream("/api/media/events/", {"Authorization": f"Bearer {token_a}"})
result["a_status"], result["a_content_type"] = a_stream.status, a_stream.content_type
video = upload(os.environ["MEDIA_SSE_VIDEO"], token_a)
image = upload(os.environ["MEDIA_SSE_IMAGE"], token_b)
result["video"], result["image"] = video, image

first, progress_seen = [], 0
for event in a_stream.events():
    first.append(summary(event))
    if event["type"] == "media.progress" and event["data"]["id"] == video:
        progress_seen += 1
        if progress_seen == 2:
            break
    if event["type"] == "media.ready":
        break
a_stream.close()
result["first"] = first
last_id = first[-1]["id"] if first else 0
time.sleep(2.5)  # the video goes on while no stream of A's is open

second = []
again = Stream("/api/media/events/", {"Authorization": f"Bearer {token_a}", "Last-Event-ID": str(last_id)}, gateway2)
result["second_status"] = again.status
for event in again.events():
    second.append(summary(event))
    if event["type"] == "media.ready" and event["data"]["id"] == video:
        break
result["second"] = second
result["a_comments"] = a_stream.comments + again.comments
again.close()

b_done.wait(120)
time.sleep(1.5)
result["b_events"] = b_events
result["b_comments"] = b_stream.comments
b_stream.close()
print(json.dumps(result), flush=True)

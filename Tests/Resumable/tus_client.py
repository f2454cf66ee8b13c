#!/usr/bin/env python3
"""A real tus client (tuspy) against Mediaflow's /api/uploads/ (SPEC §8), run by ResumableUploadEndToEndTests.

Uploads FILE in 5 MiB chunks through a proxy that cuts the connection in the middle of the third chunk; asks the
Gateway (HEAD) where the upload stands and resumes from there; sends two more chunks; SIGKILLs that Gateway; finishes
the same upload through a second Gateway. Prints one JSON line: the upload URL, the offsets seen and the final
response's Media-Id and Media-Location.

Environment: MEDIA_TUS_FILE, MEDIA_TUS_GATEWAY1, MEDIA_TUS_GATEWAY1_PID, MEDIA_TUS_GATEWAY2, MEDIA_TUS_TOKEN.
"""
import json
import os
import signal
import socket
import sys
import threading
import time

import requests
from tusclient import client as tus

CHUNK = 5 * 1024 * 1024
FILE = os.environ["MEDIA_TUS_FILE"]
GATEWAY1 = os.environ["MEDIA_TUS_GATEWAY1"]
GATEWAY2 = os.environ["MEDIA_TUS_GATEWAY2"]
TOKEN = os.environ["MEDIA_TUS_TOKEN"]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class CuttingProxy:
    """A TCP proxy on loopback to the Gateway that closes the client's connection (both ways) once `cut_after` bytes
    went from client to server in all: the network dropping in the middle of a request body."""

    def __init__(self, target_port, cut_after):
        self.target_port = target_port
        self.cut_after = cut_after
        self.sent = 0
        self.cut = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self.pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, False), daemon=True).start()

    def pump(self, source, sink, upstream):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if upstream and not self.cut.is_set():
                    room = self.cut_after - self.sent
                    if len(data) >= room:
                        sink.sendall(data[:room])
                        self.sent += room
                        self.cut.set()
                        break
                    self.sent += len(data)
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def head(url):
    response = requests.head(url, headers={**AUTH, "Tus-Resumable": "1.0.0"}, timeout=30)
    assert response.status_code == 200, f"HEAD {url}: {response.status_code}"
    return int(response.headers["Upload-Offset"])


def main():
    result = {}
    port1 = int(GATEWAY1.rsplit(":", 1)[1])
    # Two chunks and a half through the proxy (request headers included), then the network drops.
    proxy = CuttingProxy(port1, cut_after=2 * CHUNK + CHUNK // 2)
    via_proxy = tus.TusClient(f"http://127.0.0.1:{proxy.port}/api/uploads/", headers=AUTH)
    uploader = via_proxy.uploader(FILE, chunk_size=CHUNK, metadata={"filename": "resumed.mp4"}, retries=0)
    # The creation answers the Gateway's own (public) URL; the chunks go through the proxy.
    direct = uploader.create_url()
    assert direct.startswith(f"{GATEWAY1}/api/uploads/"), direct
    uploader.set_url(direct.replace(GATEWAY1, f"http://127.0.0.1:{proxy.port}"))
    uploader.offset = 0
    result["upload_url"] = direct
    chunks = 0
    try:
        while uploader.offset < uploader.get_file_size():
            uploader.upload_chunk()
            chunks += 1
        sys.exit("the proxy never cut the connection")
    except Exception as error:   # the cut: requests' connection error, wrapped by tuspy
        result["cut_during_chunk"] = chunks + 1
        result["cut_error"] = type(error).__name__
    assert proxy.cut.is_set(), "the proxy cut the connection"

    # Where does the upload stand? What arrived of the cut chunk is kept once the Gateway has seen the connection
    # drop and stored it: wait for the offset to move past the two whole chunks (the test judges the figure).
    deadline = time.monotonic() + 30
    offset = head(direct)
    while offset <= 2 * CHUNK and time.monotonic() < deadline:
        time.sleep(0.05)
        offset = head(direct)
    result["offset_after_cut"] = offset

    # Resume from there on the same Gateway: two more chunks.
    client1 = tus.TusClient(f"{GATEWAY1}/api/uploads/", headers=AUTH)
    # (The Gateway may still be storing what arrived of the cut request: a 409 is retried after a HEAD.)
    resumed = client1.uploader(FILE, url=direct, chunk_size=CHUNK, retries=5, retry_delay=1)
    result["resumed_from"] = resumed.offset
    resumed.upload_chunk()
    resumed.upload_chunk()
    result["offset_before_kill"] = resumed.offset

    # The first Gateway dies; the second continues the same upload from the offset in PostgreSQL.
    os.kill(int(os.environ["MEDIA_TUS_GATEWAY1_PID"]), signal.SIGKILL)
    on_second = direct.replace(GATEWAY1, GATEWAY2)
    result["offset_on_second"] = head(on_second)
    client2 = tus.TusClient(f"{GATEWAY2}/api/uploads/", headers=AUTH)
    final = client2.uploader(FILE, url=on_second, chunk_size=CHUNK, retries=5, retry_delay=3)
    while final.offset < final.get_file_size():
        final.upload_chunk()
    headers = final.request.response_headers
    result["final_offset"] = final.offset
    result["media_id"] = headers.get("media-id")
    result["media_location"] = headers.get("media-location")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Mediaflow across hosts (issue 16, SPEC §9): four hosts on one machine, network namespaces joined by veth pairs
(scripts/netns-hosts.sh), nothing shared between them but TCP:

    servers   10.231.77.1  PostgreSQL, RabbitMQ, the S3 server (scripts/services.sh hosts)
    gateway   10.231.77.2  the Gateway; the test's client runs here too and talks to it on this host's loopback
    workers1  10.231.77.3  VideoService, ImageService, AudioService
    workers2  10.231.77.4  VideoService, ImageService, AudioService

A mixed burst of 30 uploads ends `ready`; then, during a second burst of 30, every process of workers1 is SIGKILLed
while it holds a job: every media still ends `ready` (workers2 takes what workers1 held) and none is processed twice.
The namespaces and servers are removed at the end, also when a check fails or the run is interrupted.

Run by EndToEndTests/CrossHostEndToEndTests (make test) as root; MEDIA_TEST_BIN_DIR names the built executables.
Exits 0 when every check holds; prints each failed check.
"""
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("MEDIA_TEST_BIN_DIR") or sys.exit("MEDIA_TEST_BIN_DIR is not set")
NAME = "mfx"
HOSTS_SH = os.path.join(ROOT, "scripts", "netns-hosts.sh")
SERVICES_SH = os.path.join(ROOT, "scripts", "services.sh")
STATE = os.path.join(ROOT, ".local", "hosts")
LOGS = os.path.join(ROOT, ".local", "cross-host-logs")
SECRET = "cross-host-test-secret"
OWNER = 8801
WORKER_SERVICES = ["mediaflow-video", "mediaflow-image", "mediaflow-audio"]

failures = []
processes = []


def log(message):
    print(f"[cross-host {time.strftime('%H:%M:%S')}] {message}", flush=True)


def check(condition, message):
    if not condition:
        failures.append(message)
        log(f"FAILED: {message}")
    return condition


def run(args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs).stdout


def on_host(host, args, **kwargs):
    return run([HOSTS_SH, "exec", NAME, host, *args], **kwargs)


def start(host, executable, env):
    """Starts one of our executables on a host, its log in LOGS/<host>-<executable>.log."""
    path = os.path.join(LOGS, f"{host}-{executable}.log")
    out = open(path, "ab")
    process = subprocess.Popen([HOSTS_SH, "exec", NAME, host, os.path.join(BIN, executable)], env=env,
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    processes.append((host, executable, process))
    return process


class Client:
    """HTTP from the gateway host (curl on its loopback): the machine's own network never sees a request."""

    def __init__(self, token):
        self.token = token

    def curl(self, *args, timeout=120):
        out = on_host("gateway", ["curl", "-sS", "--max-time", str(timeout), "-H", f"Authorization: Bearer {self.token}",
                                  "-w", "\n%{http_code}", *args])
        body, _, status = out.rpartition("\n")
        return int(status), body

    def upload(self, path):
        """Uploads a copy of `path` no other upload has: the same bytes again from one user are a duplicate sharing the
        first one's files without a job (SPEC §13), and every upload of the bursts is meant to be processed."""
        root, ext = os.path.splitext(path)
        copy = f"{root}-{uuid.uuid4().hex}{ext}"
        with open(path, "rb") as source, open(copy, "wb") as target:
            data = source.read()
            tag = uuid.uuid4().bytes
            # An MP4 ends with a `free` box (skipped by every reader); anything else with bytes after its end.
            target.write(data + ((8 + len(tag)).to_bytes(4, "big") + b"free" + tag if data[4:8] == b"ftyp" else tag))
        try:
            status, body = self.curl("-F", f"file=@{copy}", "http://127.0.0.1:8080/api/media/upload/")
        finally:
            os.remove(copy)
        return status, json.loads(body) if body.startswith("{") else {"raw": body}

    def media(self, media_id):
        status, body = self.curl(f"http://127.0.0.1:8080/api/media/{media_id}/", timeout=10)
        return json.loads(body) if status == 200 else {"status": f"http {status}"}

    def fetch(self, url):
        status, _ = self.curl("-o", "/dev/null", url)
        return status


def fixtures(folder):
    """A photo, a short clip, a longer 720p clip (a job workers1 is still busy with when it is lost), a voice note."""
    def ffmpeg(name, args):
        path = os.path.join(folder, name)
        subprocess.run(["ffmpeg", "-v", "error", "-y", *args.split(), path], check=True)
        return path
    return {
        "photo": ffmpeg("photo.jpg", "-f lavfi -i testsrc=size=800x600 -frames:v 1"),
        "clip": ffmpeg("clip.mp4", "-f lavfi -i testsrc=size=640x360:rate=25:duration=2 -c:v libx264 -pix_fmt yuv420p"),
        "long": ffmpeg("long.mp4", "-f lavfi -i testsrc2=size=1280x720:rate=30:duration=6 -c:v libx264 -pix_fmt yuv420p"),
        "voice": ffmpeg("voice.wav", "-f lavfi -i sine=frequency=330:duration=2"),
    }


def wait_ready(client, ids, timeout):
    """Polls until every media is ready or failed; returns {id: media}."""
    deadline = time.monotonic() + timeout
    done = {}
    while time.monotonic() < deadline and len(done) < len(ids):
        for media_id in ids:
            if media_id in done:
                continue
            media = client.media(media_id)
            if media.get("status") in ("ready", "failed"):
                done[media_id] = media
        if len(done) < len(ids):
            time.sleep(1)
    for media_id in ids:
        done.setdefault(media_id, client.media(media_id))
    return done


def log_lines(host, message):
    """(media_id, line) for every line with `message` in a host's worker logs."""
    found = []
    for executable in WORKER_SERVICES:
        path = os.path.join(LOGS, f"{host}-{executable}.log")
        if not os.path.exists(path):
            continue
        with open(path, errors="replace") as f:
            for line in f:
                if message in line:
                    m = re.search(r"media_id=(\d+)", line)
                    if m:
                        found.append((int(m.group(1)), line))
    return found


# The kind of file each media was made from (burst fills it).
KINDS = {}


def burst(client, files, count, on_answer=None):
    """`count` uploads from three clients, cycling photo, clip, voice (and `long` for every fifth); returns the ids."""
    order = []
    for n in range(count):
        order.append("long" if n % 5 == 4 else ["photo", "clip", "voice"][n % 3])
    ids, lock = [], threading.Lock()

    def one(kind):
        status, media = client.upload(files[kind])
        check(status == 201, f"upload of {kind} answered {status}: {media}")
        with lock:
            if "id" in media:
                ids.append(media["id"])
                KINDS[media["id"]] = kind
            answered = len(ids)
        if on_answer:
            on_answer(answered)

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        for f in [pool.submit(one, kind) for kind in order]:
            f.result()
    return ids


def main():
    if os.geteuid() != 0:
        sys.exit("needs root (ip netns)")
    shutil.rmtree(LOGS, ignore_errors=True)
    os.makedirs(LOGS)
    work = tempfile.mkdtemp(prefix="mediaflow-cross-host-")
    try:
        files = fixtures(work)
        addresses = dict(line.split("=") for line in run(
            [HOSTS_SH, "up", NAME, "servers", "gateway", "workers1", "workers2"]).split())
        log(f"hosts: {addresses}")

        # The servers' host: a fresh PostgreSQL, RabbitMQ and S3 server listening on its address.
        on_host("servers", [SERVICES_SH, "hosts", "clean"])
        on_host("servers", [SERVICES_SH, "hosts", "start"])
        exports = run([SERVICES_SH, "hosts", "env"], env={**os.environ, "MEDIA_SERVICES_ADDRESS": addresses["servers"]})
        env = dict(word.split("=", 1) for line in exports.splitlines() for word in shlex.split(line)[1:])
        env = {k: v for k, v in env.items() if not k.startswith("MEDIA_LOCAL_S3")}
        log(f"servers: database {env['MEDIA_DATABASE_URL']}, broker {env['MEDIA_AMQP_URL']}, storage {env['MEDIA_STORAGE']}")
        check(addresses["servers"] in env["MEDIA_STORAGE"], "storage is the S3 server on the servers' host")
        base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "MEDIA_JWT_SECRET": SECRET,
                "MEDIA_LOG_LEVEL": "info", **env}

        start("gateway", "mediaflow-gateway", {**base, "MEDIA_HTTP_PORT": "8080"})
        for host in ("workers1", "workers2"):
            scratch = os.path.join(STATE, f"{host}-tmp")
            os.makedirs(scratch, exist_ok=True)
            for executable in WORKER_SERVICES:
                start(host, executable, {**base, "TMPDIR": scratch})
        # Ready: the Gateway answers, and every worker's health endpoint on its host says so.
        deadline = time.monotonic() + 120
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                ready = all([
                    on_host("gateway", ["curl", "-sf", "http://127.0.0.1:8080/readyz"]) != "",
                    *[on_host(host, ["curl", "-sf", f"http://127.0.0.1:{port}/readyz"]) != ""
                      for host in ("workers1", "workers2") for port in (9101, 9102, 9103)],
                ])
            except subprocess.CalledProcessError:
                time.sleep(0.5)
            exited = [(h, e) for h, e, p in processes if p.poll() is not None]
            if exited:
                for host, executable in exited:
                    with open(os.path.join(LOGS, f"{host}-{executable}.log"), errors="replace") as f:
                        log(f"{executable} on {host} exited: {f.read()[-2000:]}")
                break
        if not check(ready, "every service on every host ready within 120 s"):
            return
        token = run([os.path.join(BIN, "mediactl"), "token", "--user-id", str(OWNER)],
                    env={**base, "MEDIA_JWT_SECRET": SECRET}).strip()
        client = Client(token)

        # 1. Both worker hosts up: a mixed burst of 30.
        t0 = time.monotonic()
        first = burst(client, files, 30)
        check(len(first) == 30, f"30 uploads answered with their media ({len(first)})")
        media = wait_ready(client, first, 240)
        not_ready = {i: m.get("status") for i, m in media.items() if m.get("status") != "ready"}
        check(not not_ready, f"the first burst all ready: {not_ready}")
        log(f"first burst: {len(first)} media ready in {time.monotonic() - t0:.1f} s")
        hosts_used = {host for host in ("workers1", "workers2") if log_lines(host, "media ready")}
        check(hosts_used == {"workers1", "workers2"}, f"both worker hosts processed media ({hosts_used})")

        # 2. A second burst of 30; workers1 is lost (SIGKILL, every process) while it holds a job and uploads go on.
        killed, lock, held = threading.Event(), threading.Lock(), []
        first_set = set(first)

        def lose_workers1(answered):
            with lock:
                if killed.is_set() or answered < 8:
                    return
                started = {i for i, _ in log_lines("workers1", "job started")} - first_set
                finished = {i for i, _ in log_lines("workers1", "media ready")}
                # Lost while it works on a long clip: a short job could end between this look and the kill (seen once:
                # the kill then held nothing, and the check below has nothing to check).
                if any(KINDS.get(i) == "long" for i in started - finished):
                    run([HOSTS_SH, "kill", NAME, "workers1"])
                    killed.set()
                    # What it held is told by its logs as the kill left them: a job may have finished between the
                    # look above and the kill.
                    started = {i for i, _ in log_lines("workers1", "job started")} - first_set
                    finished = {i for i, _ in log_lines("workers1", "media ready")}
                    held.extend(sorted(started - finished))
                    log(f"workers1 SIGKILLed after {answered} uploads, holding the jobs of media {held}")

        t0 = time.monotonic()
        second = burst(client, files, 30, on_answer=lose_workers1)
        # If no job was in workers1's hands as the uploads were answered, lose it at its next job.
        deadline = time.monotonic() + 60
        while not killed.is_set() and time.monotonic() < deadline:
            lose_workers1(30)
            time.sleep(0.05)
        check(killed.is_set() and held, f"workers1 was lost while it held a job (held {held})")
        check(len(second) == 30, f"30 uploads answered with their media ({len(second)})")
        time.sleep(1)
        check(run([HOSTS_SH, "pids", NAME, "workers1"]).strip() == "", "nothing runs on workers1 any more")
        media = wait_ready(client, second, 300)
        not_ready = {i: m.get("status") for i, m in media.items() if m.get("status") != "ready"}
        check(not not_ready, f"the second burst all ready with workers1 lost: {not_ready}")
        log(f"second burst: {len(second)} media ready in {time.monotonic() - t0:.1f} s")

        # What workers1 held, workers2 finished; nothing was processed twice, in either burst.
        done_by = {"workers1": [i for i, _ in log_lines("workers1", "media ready")],
                   "workers2": [i for i, _ in log_lines("workers2", "media ready")]}
        for media_id in held:
            check(media_id in done_by["workers2"] and media_id not in done_by["workers1"],
                  f"media {media_id}, held by workers1 when it was lost, was finished by workers2")
        for media_id in first + second:
            times = done_by["workers1"].count(media_id) + done_by["workers2"].count(media_id)
            check(times == 1, f"media {media_id} processed once ({times} times)")

        # The files are really there, fetched through the Gateway from the S3 server on the servers' host.
        for media_id in held + second[:3]:
            info = client.media(media_id)
            urls = {name: url for name, url in (info.get("urls") or {}).items() if url}
            check(len(urls) >= 3, f"media {media_id} has its renditions: {urls}")
            for name, url in urls.items():
                check(client.fetch(url) == 200, f"media {media_id}'s {name} is served")
        log(f"held by workers1 when lost: {held}; media ready on workers1 {len(done_by['workers1'])}, "
            f"on workers2 {len(done_by['workers2'])}")
    finally:
        teardown(work)
    if failures:
        log(f"{len(failures)} check(s) failed")
        sys.exit(1)
    log("every check held")


def teardown(work):
    for host, executable, process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for _, _, process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    subprocess.run([HOSTS_SH, "exec", NAME, "servers", SERVICES_SH, "hosts", "stop"], capture_output=True)
    subprocess.run([HOSTS_SH, "down", NAME], capture_output=True)
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    check(f"{NAME}-" not in left, f"the namespaces are removed ({left.strip()})")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    # A stop from outside (the test's time limit, ^C) still removes the namespaces: SIGTERM becomes an exception.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Well inside the Swift test's time limit (which does not signal this process): give up, and clean up, first.
    signal.signal(signal.SIGALRM, lambda *_: sys.exit("gave up after 15 minutes"))
    signal.alarm(900)
    main()

"""The transform rows of TARGETS.md (SPEC §12, issue 29), beside thumbor 7.8.0 with its file loader.

- first render of w_320,h_240,fit_cover,g_smart as WebP from the 12 MP JPEG: Mediaflow's /img/ against thumbor's
  /unsafe/320x240/smart/filters:format(webp)/..., a new variant each run (the quality differs by one), alternating;
- a stored variant read with wrk -t2 -c32 -d10s;
- 100 concurrent requests for one new variant: every answer, the renders counted by the Gateway's metrics, the p99
  against one render;
- 200 distinct new variants (8 at a time) while wrk reads a media's details: the details' p99 beside wrk alone.

Only the standard library (the thumbor server runs in its own virtual environment, started by scripts/bench.sh).
"""
import base64
import concurrent.futures
import hashlib
import hmac
import http.client
import re
import statistics
import subprocess
import threading
import time
import urllib.parse


def sign(key, path):
    mac = hmac.new(key.encode(), path.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")[:32]


def get(base, path, headers=None):
    """(seconds, status, bytes) of one GET on a fresh connection."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=120)
    start = time.monotonic()
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.monotonic() - start
    conn.close()
    return elapsed, response.status, body


def renders(api):
    _, _, body = get(api, "/metrics")
    match = re.search(rb"^mediaflow_transform_renders_total(?:\{[^}]*\})? ([\d.e+]+)$", body, re.M)
    return float(match.group(1)) if match else 0.0


def wrk(url, seconds=10, token=None):
    auth = ["-H", f"Authorization: Bearer {token}"] if token else []
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", *auth, url],
                         check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": rps, "p99_ms": float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)],
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def bench(api, key, media_id, thumbor, image_name, runs, detail_url, token):
    exp = int(time.time()) + 3600
    url = lambda options, fmt="webp": (lambda path: f"/img/{sign(key, path)}/{path}")(f"{options}/{media_id}.{fmt}?exp={exp}")
    result = {}

    # First renders, alternating with thumbor; each run a variant neither has made before.
    ours, theirs = [], []
    for i in range(runs):
        q = 90 - i
        elapsed, status, body = get(api, url(f"w_320,h_240,fit_cover,g_smart,q_{q}"))
        assert status == 200, f"/img/ answered {status}: {body[:200]!r}"
        ours.append(elapsed)
        if thumbor:
            elapsed, status, body = get(thumbor, f"/unsafe/320x240/smart/filters:format(webp):quality({q})/{image_name}")
            assert status == 200, f"thumbor answered {status}: {body[:200]!r}"
            theirs.append(elapsed)
    result["first_render_ms"] = statistics.median(ours) * 1000
    result["thumbor_first_render_ms"] = statistics.median(theirs) * 1000 if theirs else None
    result["ratio"] = (statistics.median(theirs) / statistics.median(ours)) if theirs else None

    # A stored variant under wrk.
    cached = url("w_320,h_240,fit_cover,g_smart,q_90")
    result["cached"] = wrk(f"{api}{cached}")

    # 100 at once for one new variant.
    before = renders(api)
    target = url("w_300,h_200,fit_cover,g_smart,q_77")
    barrier = threading.Barrier(100)

    def one(_):
        barrier.wait()
        return get(api, target)

    with concurrent.futures.ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(one, range(100)))
    times = sorted(a[0] for a in answers)
    renders_made = renders(api) - before
    # The same 100 at once again, the variant now stored: what this client takes for 100 answers with no render at
    # all (100 Python threads, each a new connection), the floor the first burst's p99 is to be read against.
    barrier = threading.Barrier(100)
    with concurrent.futures.ThreadPoolExecutor(100) as pool:
        again = sorted(a[0] for a in pool.map(one, range(100)))
    result["herd"] = {"answered_200": sum(1 for a in answers if a[1] == 200), "renders": renders_made,
                      "p99_ms": times[98] * 1000, "max_ms": times[-1] * 1000, "stored_p99_ms": again[98] * 1000}

    # A storm of 200 new variants while wrk reads details, beside wrk alone.
    alone = wrk(detail_url, 8, token)
    storm_done = threading.Event()
    outcome = {}

    def storm():
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda w: get(api, url(f"w_{w},h_{w}", "jpg"))[1], range(200, 400)))
        outcome["statuses"] = statuses
        storm_done.set()

    thread = threading.Thread(target=storm)
    thread.start()
    during = wrk(detail_url, 8, token)
    thread.join()
    result["storm"] = {"detail_alone": alone, "detail_during": during,
                       "variants_200": sum(1 for s in outcome["statuses"] if s == 200)}
    return result

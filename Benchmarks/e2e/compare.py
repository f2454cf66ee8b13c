"""Prints the rows of several bench.py result files side by side (`make bench BENCH_ARGS="--storage local,s3"`).

    python3 Benchmarks/e2e/compare.py local=bench-results/a.json s3=bench-results/b.json
"""
import json
import sys

# Row key → (label, how to print its figure, the number compared across runs, whether higher is better).
ROWS = [
    ("image", "upload → ready, 12 MP JPEG", lambda r: f"{r['median_s']:.3f} s", lambda r: r["median_s"], False),
    ("burst", "burst of 24 JPEGs, 4 clients", lambda r: f"{r['images_per_s']:.2f} images/s", lambda r: r["images_per_s"], True),
    ("remux", "upload → ready, 1080p remux", lambda r: f"{r['median_s']:.3f} s", lambda r: r["median_s"], False),
    ("transcode", "upload → ready, 4K transcode",
     lambda r: f"{r['median_s']:.2f} s ({r['ratio_to_cli']:.2f}× CLI)", lambda r: r["median_s"], False),
    ("wav", "upload → ready, 60 s WAV", lambda r: f"{r['median_s']:.3f} s ({r['ratio_to_cli']:.2f}× CLI)",
     lambda r: r["median_s"], False),
    ("upload", "97 MB upload: speed, Gateway RSS",
     lambda r: f"{r['speed_mb_s']:.0f} MB/s, +{r['rss_growth_mib']:.1f} MiB", lambda r: r["speed_mb_s"], True),
    ("get", "GET /api/media/{id}/", lambda r: f"{r['requests_per_s']:.0f} req/s, p99 {r['p99_ms']:.1f} ms",
     lambda r: r["requests_per_s"], True),
    ("list1", "list page 1 (10,000 media)", lambda r: f"{r['requests_per_s']:.0f} req/s, p99 {r['p99_ms']:.1f} ms",
     lambda r: r["requests_per_s"], True),
    ("list250", "list page 250", lambda r: f"{r['requests_per_s']:.0f} req/s, p99 {r['p99_ms']:.1f} ms",
     lambda r: r["requests_per_s"], True),
    ("videoburst", "6 concurrent 1080p transcodes", lambda r: f"{r['median_s']:.2f} s", lambda r: r["median_s"], False),
    ("stats", "stats (10,000 media)", lambda r: f"{r['requests_per_s']:.0f} req/s, p99 {r['p99_ms']:.1f} ms",
     lambda r: r["requests_per_s"], True),
]


def main(pairs):
    runs = []
    for pair in pairs:
        label, _, path = pair.partition("=")
        with open(path) as f:
            runs.append((label, json.load(f)))
    base_label = runs[0][0]
    headers = ["workload"] + [label for label, _ in runs] + [f"{label} / {base_label}" for label, _ in runs[1:]]
    table = [headers]
    for key, name, show, number, higher_is_better in ROWS:
        if not any(key in results for _, results in runs):
            continue
        line = [name]
        for _, results in runs:
            r = results.get(key)
            line.append(f"{show(r)}{'' if r.get('holds', True) else ' (NO)'}" if r else "-")
        base = runs[0][1].get(key)
        for _, results in runs[1:]:
            r = results.get(key)
            line.append(f"{number(r) / number(base):.2f}×" if r and base and number(base) else "-")
        table.append(line)
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1:])

#!/usr/bin/env python3
"""The admin list page with 100,000 media (issue 15): its server time, first page and a filtered search, and the
EXPLAIN ANALYZE of the queries behind it.

The media are written straight into PostgreSQL (1,000 owners, 2% failed, 1% processing, every 20th file named
holiday-*, a fifth of those failed), then vacuumed and analysed as autovacuum would leave them. Each page is asked for `runs` times in a row;
the Gateway's `Server-Timing: db;dur=` header gives the database's share, the client clock the whole answer.
Used by bench.py (row "admin"); also runnable alone:

  python3 Benchmarks/e2e/admin_list.py --api URL --staff-token T --database-url URL [--explain]
"""
import argparse
import json
import re
import statistics
import subprocess
import time
import urllib.request

SEED_USERS = (995000, 995999)
SEED_MEDIA = 100_000

PAGES = {
    "first": "/admin/mediafiles/media/",
    "search": "/admin/mediafiles/media/?q=holiday&status=failed",
    "search_any_status": "/admin/mediafiles/media/?q=holiday",
}

# The statements PostgresMediaRepository.staffMedia sends for those two pages, with the values bound (PostgreSQL plans
# an unnamed statement with its parameters' values, so this is the plan the Gateway gets).
COLUMNS = ("m.id, m.user_id, m.username, m.file_type, m.status, m.file_size, m.mime_type, m.format, m.original_filename, "
           "m.storage_key, m.renditions::text, m.width, m.height, m.duration, m.bitrate, m.metadata::text, m.is_public, "
           "m.generation, m.created_at, m.updated_at")


def filter_sql(status=None, pattern=None):
    s = "NULL" if status is None else f"'{status}'"
    p = "NULL" if pattern is None else f"'{pattern}'"
    return (f"(NULL::text IS NULL OR file_type = NULL) AND ({s}::text IS NULL OR status = {s}) "
            f"AND (NULL::bigint IS NULL OR user_id = NULL) AND (NULL::timestamptz IS NULL OR created_at >= NULL) "
            f"AND (NULL::timestamptz IS NULL OR created_at < NULL) "
            f"AND ({p}::text IS NULL OR original_filename ILIKE {p} OR username ILIKE {p})")


def page_sql(where):
    return (f"SELECT {COLUMNS} FROM media m JOIN (SELECT id FROM media WHERE {where} "
            f"ORDER BY created_at DESC, id DESC LIMIT 25 OFFSET 0) page ON page.id = m.id "
            f"ORDER BY m.created_at DESC, m.id DESC")


STATEMENTS = {
    "first": [
        ("count (counter rows)", "SELECT COALESCE(sum(count), 0)::bigint FROM media_counts WHERE (NULL::text IS NULL OR "
                                 "file_type = NULL) AND (NULL::text IS NULL OR status = NULL) AND (NULL::bigint IS NULL OR user_id = NULL)"),
        ("page", page_sql(filter_sql())),
    ],
    "search": [
        ("count", "SELECT count(*) FROM media WHERE " + filter_sql("failed", "%holiday%")),
        ("page", page_sql(filter_sql("failed", "%holiday%"))),
    ],
    "search_any_status": [
        ("count", "SELECT count(*) FROM media WHERE " + filter_sql(None, "%holiday%")),
        ("page", page_sql(filter_sql(None, "%holiday%"))),
    ],
}


def psql(database_url, sql):
    return subprocess.run(["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-At", database_url], input=sql, text=True,
                          check=True, capture_output=True).stdout


def seed(database_url):
    lo, hi = SEED_USERS
    psql(database_url, f"""
        DELETE FROM media WHERE user_id BETWEEN {lo} AND {hi};
        INSERT INTO media (user_id, username, file_type, status, file_size, mime_type, format, original_filename,
                           storage_key, renditions, width, height, metadata, is_public, created_at, updated_at)
        SELECT {lo} + i % 1000, 'owner-' || (i % 1000), t.file_type,
               CASE WHEN i % 50 = 7 THEN 'failed' WHEN i % 100 = 3 THEN 'processing' ELSE 'ready' END,
               1000000 + i, t.mime, t.format,
               CASE WHEN i % 20 = 7 THEN 'holiday-' ELSE 'IMG_' END || i || '.' || t.ext,
               'media/admin-seed-' || i || '/original.' || t.ext, '{{}}'::jsonb, 4000, 3000,
               jsonb_build_object('processing_ms', 100 + i % 400, 'attempts', 1), true,
               now() - (i * 20 || ' seconds')::interval, now() - (i * 20 || ' seconds')::interval
        FROM generate_series(1, {SEED_MEDIA}) AS i
        JOIN (VALUES (0, 'image', 'image/jpeg', 'jpeg', 'jpg'), (1, 'video', 'video/mp4', 'mp4', 'mp4'),
                     (2, 'audio', 'audio/mpeg', 'mp3', 'mp3')) AS t(n, file_type, mime, format, ext) ON t.n = i % 3;
        VACUUM ANALYZE media;
        VACUUM ANALYZE media_counts;
    """)


def unseed(database_url):
    lo, hi = SEED_USERS
    psql(database_url, f"DELETE FROM media WHERE user_id BETWEEN {lo} AND {hi}")


def explain(database_url):
    """EXPLAIN (ANALYZE, BUFFERS) of each statement, after one warm-up run; name → plan text."""
    plans = {}
    for page, statements in STATEMENTS.items():
        for name, sql in statements:
            psql(database_url, sql)
            plans[f"{page}: {name}"] = psql(database_url, "EXPLAIN (ANALYZE, BUFFERS) " + sql)
    return plans


def measure(api, token, runs=20):
    """Per page: median database time (Server-Timing) and median whole answer, over `runs` requests in a row."""
    results = {}
    for page, path in PAGES.items():
        db, total, count = [], [], None
        for _ in range(runs + 2):
            request = urllib.request.Request(api + path, headers={"Authorization": f"Bearer {token}"})
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                html = response.read().decode()
                timing = response.headers.get("Server-Timing", "")
            total.append((time.perf_counter() - started) * 1000)
            db.append(float(re.search(r"dur=([\d.]+)", timing).group(1)))
            count = re.search(r'id="count">(\d+) media', html).group(1)
        # The first two warm the caches.
        results[page] = {"path": path, "matches": int(count), "db_ms": statistics.median(db[2:]),
                         "total_ms": statistics.median(total[2:]), "max_total_ms": max(total[2:])}
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--staff-token", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="print the EXPLAIN ANALYZE of each statement")
    parser.add_argument("--keep", action="store_true", help="leave the 100,000 media in the database")
    args = parser.parse_args()
    seed(args.database_url)
    try:
        print(json.dumps(measure(args.api, args.staff_token, args.runs), indent=2))
        if args.explain:
            for name, plan in explain(args.database_url).items():
                print(f"\n-- {name}\n{plan}")
    finally:
        if not args.keep:
            unseed(args.database_url)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Gateway benchmark (issue 2, TARGETS.md rows "upload of a 97 MB MP4" and "GET /api/media/{id}/ with wrk"):
#   1. streams a 97 MB MP4 upload and a 100 MB one through a release Gateway, reporting client-side speed and the
#      Gateway's RSS growth (VmHWM after minus VmRSS before: the peak the upload caused);
#   2. `wrk -t2 -c32 -d10s` on GET /api/media/{id}/ (auth, DB read, JSON), reporting requests/s and p99.
# Uses the dev PostgreSQL/RabbitMQ instance (started if needed) and a Gateway of its own on port 18090.
# Usage: Benchmarks/gateway/run.sh [runs]   (medians over `runs` uploads, default 5)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
RUNS=${1:-5}
PORT=18090
WORK=$(mktemp -d /tmp/mediaflow-gwbench.XXXXXX)
GW_PID=
cleanup() { [ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

scripts/services.sh dev start >/dev/null
eval "$(scripts/services.sh dev env)"
swift build -c release --product mediaflow-gateway >/dev/null
swift build -c release --product mediactl >/dev/null
BIN=$(swift build -c release --show-bin-path)
export MEDIA_STORAGE="local:$WORK/storage" MEDIA_HTTP_PORT=$PORT MEDIA_JWT_SECRET=bench-secret-bench-secret-bench-secret MEDIA_LOG_LEVEL=warning
"$BIN/mediaflow-gateway" & GW_PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
TOKEN=$("$BIN/mediactl" token --user-id 990001 --username bench)

make_mp4() {  # $1 path, $2 size in bytes: an ftyp header (sniffed as MP4) followed by random bytes
  { printf '\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41'; head -c $(( $2 - 32 )) /dev/urandom; } > "$1"
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$GW_PID/status"; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }

for size_mb in 97 100; do
  make_mp4 "$WORK/upload.mp4" $(( size_mb * 1000 * 1000 ))
  speeds=(); growths=()
  for i in $(seq 1 "$RUNS"); do
    # Reset the high-water mark so each run measures its own peak.
    echo 5 > "/proc/$GW_PID/clear_refs" 2>/dev/null || true
    before=$(rss_kib)
    speed=$(curl -s -o /dev/null -w '%{speed_upload}' -H "Authorization: Bearer $TOKEN" \
      -F "file=@$WORK/upload.mp4;filename=clip.mp4" "http://127.0.0.1:$PORT/api/media/upload/")
    peak=$(hwm_kib)
    speeds+=("$(awk -v s="$speed" 'BEGIN {printf "%.1f", s / 1e6}')")
    growths+=("$(awk -v a="$peak" -v b="$before" 'BEGIN {printf "%.2f", (a - b) / 1024}')")
  done
  echo "upload ${size_mb} MB: speed MB/s median $(printf '%s\n' "${speeds[@]}" | median) (runs: ${speeds[*]}); RSS growth MiB median $(printf '%s\n' "${growths[@]}" | median) (runs: ${growths[*]})"
done

ID=$(curl -s -H "Authorization: Bearer $TOKEN" -F "file=@$WORK/upload.mp4;filename=clip.mp4" \
  "http://127.0.0.1:$PORT/api/media/upload/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "wrk -t2 -c32 -d10s GET /api/media/$ID/"
wrk -t2 -c32 -d10s --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/media/$ID/" \
  | awk '/Requests\/sec/ {print "  requests/s: " $2} / 99%/ {print "  p99 latency: " $2} /Non-2xx/ {print "  NON-2xx: " $0}'

#!/usr/bin/env bash
# Image pipeline benchmark: libvips (imaging-bench) vs naive Pillow on deterministic 12MP and 24MP JPEGs.
# Usage: Benchmarks/imaging/run.sh [PACKAGE_DIR] [ITERATIONS]   (needs ffmpeg; Pillow comes from .local/venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
package="${1:-$(cd "$here/../.." && pwd)}"
iterations="${2:-15}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Pillow from the test command's virtual environment (.local/venv), never installed system-wide.
# shellcheck source=../../scripts/lib.sh
source "$package/scripts/lib.sh"
ensure_test_venv "$package"
for size in 4000x3000 6000x4000; do
    ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=$size:rate=1" -frames:v 1 -q:v 2 "$work/in-$size.jpg"
done
inputs=("$work/in-4000x3000.jpg" "$work/in-6000x4000.jpg")

(cd "$package" && swift build -c release --product imaging-bench >/dev/null)
bench="$(cd "$package" && swift build -c release --show-bin-path)/imaging-bench"

vips_out="$("$bench" --iterations "$iterations" "${inputs[@]}")"
pillow_out="$(python3 "$here/pillow_bench.py" --iterations "$iterations" "${inputs[@]}")"
echo "$vips_out"
echo "$pillow_out"

median() { sed -n "s/^$1 $2 .*median_ms=\([0-9.]*\).*/\1/p"; }
for size in 4000x3000 6000x4000; do
    v="$(echo "$vips_out" | median vips "in-$size.jpg")"
    p="$(echo "$pillow_out" | median pillow "in-$size.jpg")"
    echo "$size: vips ${v} ms, pillow ${p} ms, speed-up $(python3 -c "print(f'{$p / $v:.2f}x')")"
done

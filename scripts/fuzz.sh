#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, built into the Swift toolchain's clang runtime) of the parsers that read
# untrusted bytes: each harness in Fuzz/ is compiled with the MediaDomain sources it exercises, with the fuzzer and
# AddressSanitizer, and run from a seed corpus of real files (made here with ffmpeg and Pillow). Not part of
# `make test` (it runs for as long as you give it); `make fuzz` runs every target for FUZZ_SECONDS (default 60).
#
#   scripts/fuzz.sh [TARGET...] [-- LIBFUZZER_ARGS...]     targets: sniffer location json headers (default: all)
#
# Work lives in .local/fuzz/<target>/ (corpus/, crashes as crash-*); a crash stops the run with its input saved
# there and the stack trace printed. Reproduce one: .local/fuzz/<target>/fuzz-<target> .local/fuzz/<target>/crash-…
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LOG_TAG=fuzz
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
ensure_test_venv "$ROOT"   # Pillow, for seeds with EXIF GPS

targets=() extra=()
while [[ $# -gt 0 ]]; do
  if [[ $1 == -- ]]; then shift; extra=("$@"); break; fi
  targets+=("$1"); shift
done
[[ ${#targets[@]} -gt 0 ]] || targets=(sniffer location json headers)
seconds=${FUZZ_SECONDS:-60}

harness() {
  case $1 in
    sniffer) echo Fuzz/Sniffer.swift ;;
    location) echo Fuzz/Location.swift ;;
    json) echo Fuzz/JSON.swift ;;
    headers) echo Fuzz/Headers.swift ;;
    *) die "no fuzz target $1 (sniffer, location, json, headers)" ;;
  esac
}

# Seeds: small real files of every format the sniffer knows, some with location metadata in every place the
# scrubber looks; JSON documents; header values.
seed() {
  local target=$1 dir=$2
  mkdir -p "$dir"
  [[ -z $(ls -A "$dir") ]] || return 0
  local ff="ffmpeg -nostdin -loglevel error -y"
  case $target in
    sniffer | location)
      $ff -f lavfi -i testsrc2=size=16x16 -frames:v 1 "$dir/a.jpg"
      $ff -f lavfi -i testsrc2=size=16x16 -frames:v 1 "$dir/a.png"
      $ff -f lavfi -i testsrc2=size=16x16 -frames:v 1 "$dir/a.webp"
      $ff -f lavfi -i testsrc2=size=16x16 -frames:v 1 "$dir/a.gif"
      $ff -f lavfi -i testsrc2=size=16x16 -frames:v 1 "$dir/a.bmp"
      for ext in mp4 mov; do
        $ff -f lavfi -i testsrc2=size=16x16:duration=0.1 -c:v libx264 -pix_fmt yuv420p \
          -metadata location=+48.8584+002.2945/ -metadata location-eng=+48.8584+002.2945/ "$dir/a.$ext"
      done
      $ff -f lavfi -i testsrc2=size=16x16:duration=0.1 -c:v libvpx "$dir/a.webm"
      $ff -f lavfi -i testsrc2=size=16x16:duration=0.1 -c:v mjpeg "$dir/a.avi"
      $ff -f lavfi -i sine=duration=0.1 "$dir/a.mp3"
      $ff -f lavfi -i sine=duration=0.1 "$dir/a.wav"
      $ff -f lavfi -i sine=duration=0.1 -c:a libvorbis "$dir/a.ogg"
      $ff -f lavfi -i sine=duration=0.1 -c:a aac -f adts "$dir/a.aac"
      $ff -f lavfi -i sine=duration=0.1 -c:a aac "$dir/a.m4a"
      python3 - "$dir" <<'PY'
import sys
from PIL import Image
out = sys.argv[1]
xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.5N" '
       b'exif:GPSLongitude="2,17.7E"/></rdf:RDF></x:xmpmeta>')
for fmt, ext in (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")):
    image = Image.new("RGB", (8, 8), (200, 30, 30))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    image.save(f"{out}/gps.{ext}", fmt, exif=exif.tobytes(), xmp=xmp)
PY
      ;;
    json)
      printf '%s' '{"url": "https://example.com/hook", "events": ["media.ready"], "n": 1.5e3, "i": -7}' >"$dir/a.json"
      printf '%s' '[null, true, false, "\u00e9\ud83d\ude00", {"a": [[]]}, 0, -0.0, 123456789012345678]' >"$dir/b.json"
      printf '%s' '{"media_id": 42, "generation": 3, "status": "ready", "renditions": {"thumb": {"w": 1}}}' >"$dir/c.json"
      ;;
    headers)
      printf '%s' '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' >"$dir/a"
      printf '%s' '30s' >"$dir/b"
      printf '%s' '1h30m' >"$dir/c"
      ;;
  esac
}

status=0
for target in "${targets[@]}"; do
  work=$ROOT/.local/fuzz/$target
  mkdir -p "$work"
  binary=$work/fuzz-$target
  log "$target: building $binary"
  # The harness and the module's sources as one module (its internal parsers are reachable); -O keeps the bounds
  # and overflow checks Swift always has, which are what the fuzzer trips.
  swiftc -module-name MediaDomain -parse-as-library -sanitize=fuzzer,address -O -g \
    "$(harness "$target")" $(find Shared/MediaDomain -name '*.swift' | sort) -o "$binary" 2>&1 \
    | grep -v "Cannot export local symbol" || true
  [[ -x $binary ]] || die "$target: the harness did not build"
  seed "$target" "$work/corpus"
  log "$target: fuzzing for ${seconds}s from $(ls "$work/corpus" | wc -l) inputs"
  if (cd "$work" && "$binary" corpus -max_total_time="$seconds" -print_final_stats=1 -max_len=65536 \
      -timeout=10 -rss_limit_mb=2048 "${extra[@]}" 2>"$work/last-run.log"); then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/last-run.log" | grep -o '[0-9]*$' || echo "?")
    log "$target: $runs inputs run, no crash; corpus $(ls "$work/corpus" | wc -l) inputs"
  else
    status=1
    grep -A40 "==ERROR\|Fatal error\|deadly signal" "$work/last-run.log" | head -60 >&2 || tail -40 "$work/last-run.log" >&2
    log "$target: CRASH; the input is saved as $(ls -t "$work"/crash-* 2>/dev/null | head -1)"
  fi
done
exit "$status"

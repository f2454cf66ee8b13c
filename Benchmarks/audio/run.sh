#!/usr/bin/env bash
# Audio pipeline benchmark: in-process AudioTranscoder (audio-bench) vs the ffmpeg CLI with the same settings
# on a 60 s stereo 44.1 kHz 16-bit WAV (lavfi sine), medians of N runs each, interleaved.
# Usage: Benchmarks/audio/run.sh [PACKAGE_DIR] [ITERATIONS]   (needs ffmpeg with libmp3lame, bash 5)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
package="${1:-$(cd "$here/../.." && pwd)}"
iterations="${2:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

ffmpeg -nostdin -loglevel error -y -f lavfi -i "sine=frequency=440:duration=60:sample_rate=44100" \
    -f lavfi -i "sine=frequency=554:duration=60:sample_rate=44100" \
    -filter_complex "[0:a][1:a]amerge=inputs=2[a]" -map "[a]" -c:a pcm_s16le "$work/in.wav"

(cd "$package" && swift build -c release --product audio-bench >/dev/null)
bench="$(cd "$package" && swift build -c release --show-bin-path)/audio-bench"

now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo "$((t / 1000)).$(printf '%03d' $((t % 1000)))"; }
median() { python3 -c 'import sys, statistics; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.1f}")' "$@"; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

cli=(); cli_cpu=(); full=(); wave=(); mp3=(); mp3_cpu=()
for i in $(seq "$iterations"); do
    start="$(now_ms)"
    /usr/bin/time -f "%U %S" -o "$work/time" \
        ffmpeg -nostdin -loglevel error -y -i "$work/in.wav" -c:a libmp3lame -b:a 128k -ar 44100 "$work/cli.mp3"
    end="$(now_ms)"
    cli+=("$(python3 -c "print($end - $start)")")
    cli_cpu+=("$(python3 -c "u, s = open('$work/time').read().split()[:2]; print((float(u) + float(s)) * 1000)")")
    line="$("$bench" --iterations 1 "$work/in.wav" | tail -n 1)"
    full+=("$(field median_ms "$line")")
    wave+=("$(field waveform_median_ms "$line")")
    mp3+=("$(field mp3_only_median_ms "$line")")
    mp3_cpu+=("$(field mp3_only_cpu_ms "$line")")
done

c="$(median "${cli[@]}")"; cc="$(median "${cli_cpu[@]}")"
f="$(median "${full[@]}")"; w="$(median "${wave[@]}")"; m="$(median "${mp3[@]}")"; mc="$(median "${mp3_cpu[@]}")"
echo "60 s stereo 16-bit WAV -> MP3 128 kbit/s CBR 44.1 kHz, median of $iterations (interleaved)"
printf '%-50s %10s %10s\n' "" "wall" "cpu"
printf '%-50s %10s %10s\n' "ffmpeg CLI (whole process)" "$c ms" "$cc ms"
printf '%-50s %10s %10s\n' "in process: MP3 only" "$m ms" "$mc ms"
printf '%-50s %10s\n' "in process: MP3 + waveform (one pass)" "$f ms"
printf '%-50s %10s\n' "  of which waveform (peaks + JSON)" "$w ms"
echo "speed vs CLI (CLI time / ours; target >= 0.97x): MP3 only $(python3 -c "print(f'{$c / $m:.2f}x')") wall," \
     "$(python3 -c "print(f'{$cc / $mc:.2f}x')") cpu; MP3 + waveform $(python3 -c "print(f'{$c / $f:.2f}x')") wall"

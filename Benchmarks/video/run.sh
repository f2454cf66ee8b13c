#!/usr/bin/env bash
# Video benchmark: a 10 s 1080p lavfi clip (H.264/AAC), transcoded in process (Shared/AV, remux disabled) vs the
# ffmpeg CLI with the same settings; medians of 3; then the remux fast path; peak RSS of each.
# Usage: Benchmarks/video/run.sh [path/to/video-bench]   (default: .build/release/video-bench; build it with
#   swift build -c release --product video-bench)
set -euo pipefail
BENCH=${1:-.build/release/video-bench}
RUNS=${RUNS:-3}
WORK=$(mktemp -d /tmp/video-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
IN="$WORK/in.mp4"
mkdir -p "$WORK/t" "$WORK/r"

ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=10 \
  -f lavfi -i sine=frequency=440:sample_rate=48000:duration=10 \
  -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -c:a aac -b:a 192k "$IN"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
rss_of() { awk '/Maximum resident set size/ {printf "%.1f", $6/1024}' "$1"; }
# user + system CPU seconds: steadier than wall time when other work shares the machine.
cpu_of() { awk -F': ' '/User time|System time/ {t += $2} END {printf "%.2f", t}' "$1"; }

cli=(); ours=(); remux=(); cli_cpu=(); ours_cpu=(); cli_rss=0; ours_rss=0; remux_rss=0
SCALE="scale=w='min(1920,iw)':h='min(1080,ih)':force_original_aspect_ratio=decrease:force_divisible_by=2"
for i in $(seq "$RUNS"); do
  s=$(date +%s.%N)
  /usr/bin/time -v -o "$WORK/cli.time" ffmpeg -nostdin -loglevel error -y -i "$IN" -c:v libx264 -crf 23 -preset medium \
    -pix_fmt yuv420p -vf "$SCALE" -c:a aac -b:a 128k -movflags +faststart "$WORK/cli.mp4"
  e=$(date +%s.%N); cli+=("$(echo "$e - $s" | bc)"); cli_rss=$(rss_of "$WORK/cli.time"); cli_cpu+=("$(cpu_of "$WORK/cli.time")")

  out=$(/usr/bin/time -v -o "$WORK/ours.time" "$BENCH" "$IN" "$WORK/t")
  ours+=("$(echo "$out" | sed -E 's/.*seconds=([0-9.]+).*/\1/')"); ours_rss=$(rss_of "$WORK/ours.time"); ours_cpu+=("$(cpu_of "$WORK/ours.time")")

  out=$(/usr/bin/time -v -o "$WORK/remux.time" "$BENCH" "$IN" "$WORK/r" --remux)
  remux+=("$(echo "$out" | sed -E 's/.*seconds=([0-9.]+).*/\1/')"); remux_rss=$(rss_of "$WORK/remux.time")
done

cli_m=$(printf '%s\n' "${cli[@]}" | median)
ours_m=$(printf '%s\n' "${ours[@]}" | median)
remux_m=$(printf '%s\n' "${remux[@]}" | median)
echo "input: 10 s 1920x1080 30 fps H.264 + AAC (lavfi testsrc2 + sine); runs: $RUNS; machine: $(nproc) cores"
printf '%-34s %8s   runs: %s\n' "ffmpeg CLI transcode (s)" "$cli_m" "${cli[*]}"
printf '%-34s %8s   runs: %s\n' "in-process transcode (s)" "$ours_m" "${ours[*]}"
printf '%-34s %8s   runs: %s\n' "in-process remux fast path (s)" "$remux_m" "${remux[*]}"
cli_cpu_m=$(printf '%s\n' "${cli_cpu[@]}" | median)
ours_cpu_m=$(printf '%s\n' "${ours_cpu[@]}" | median)
printf '%-34s %8s   runs: %s\n' "ffmpeg CLI CPU (user+sys s)" "$cli_cpu_m" "${cli_cpu[*]}"
printf '%-34s %8s   runs: %s\n' "in-process CPU (user+sys s)" "$ours_cpu_m" "${ours_cpu[*]}"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "speed vs CLI: $(echo "scale=3; $cli_m / $ours_m" | bc)x  (target >= 0.97x; in-process also writes poster + thumbnail)"
echo "CPU efficiency vs CLI: $(echo "scale=3; $cli_cpu_m / $ours_cpu_m" | bc)x"
echo "remux speed-up over in-process transcode: $(echo "scale=1; $ours_m / $remux_m" | bc)x  (target >= 50x)"
echo "peak RSS MiB: CLI $cli_rss, in-process transcode $ours_rss, remux $remux_rss"
echo "output bytes: CLI $(stat -c %s "$WORK/cli.mp4"), in-process $(stat -c %s "$WORK/t/bench.mp4"), remux $(stat -c %s "$WORK/r/bench.mp4")"
ffprobe -v error -show_entries stream=codec_name,pix_fmt,width,height,nb_frames -of csv=p=0 "$WORK/t/bench.mp4" | sed 's/^/in-process output stream: /'
ffprobe -v error -show_entries stream=codec_name,pix_fmt,width,height,nb_frames -of csv=p=0 "$WORK/cli.mp4" | sed 's/^/CLI output stream: /'

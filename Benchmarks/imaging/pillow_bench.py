#!/usr/bin/env python3
"""The naive Pillow pipeline for comparison: open, then each rendition from the opened original."""
import io
import statistics
import sys
import time

from PIL import Image, ImageOps


def renditions(path):
    original = Image.open(path)
    original.load()
    outputs = []

    thumb = ImageOps.fit(original, (150, 150))
    buf = io.BytesIO(); thumb.save(buf, "JPEG", quality=85, optimize=True); outputs.append(buf.getvalue())
    for side in (320, 640, 1080):
        im = original.copy(); im.thumbnail((side, side))
        buf = io.BytesIO(); im.save(buf, "JPEG", quality=85, optimize=True); outputs.append(buf.getvalue())
    im = original.copy(); im.thumbnail((640, 640))
    buf = io.BytesIO(); im.save(buf, "WEBP", quality=80); outputs.append(buf.getvalue())
    return outputs


def main():
    args = sys.argv[1:]
    iterations, warmup = 10, 2
    files = []
    while args:
        a = args.pop(0)
        if a == "--iterations": iterations = int(args.pop(0))
        elif a == "--warmup": warmup = int(args.pop(0))
        else: files.append(a)
    for path in files:
        for _ in range(warmup): renditions(path)
        samples = []
        for _ in range(iterations):
            start = time.perf_counter(); renditions(path); samples.append((time.perf_counter() - start) * 1000)
        print(f"pillow {path.rsplit('/', 1)[-1]} median_ms={statistics.median(samples):.1f} "
              f"min_ms={min(samples):.1f} max_ms={max(samples):.1f}")


if __name__ == "__main__":
    main()

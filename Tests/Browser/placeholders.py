#!/usr/bin/env python3
"""A feed page as an app would build it (SPEC §12): every picture's ThumbHash and dominant colour painted at once,
then the pictures themselves loaded from `auto`-format transform URLs. Headless Debian Chromium over Selenium.

Run by the Swift test `PlaceholderBrowserTests`, which starts the real services, uploads the pictures and passes:

  MEDIA_PH_ITEMS        JSON: [{"id", "thumbhash", "dominant_color", "url", "width", "height"}] (url: a signed /img/ URL)
  MEDIA_PH_SCREENSHOTS  where to save `placeholders.png` (before any picture arrives) and `loaded.png`

The page holds its <img> sources back for two seconds, so the first screenshot shows what a slow network shows.
Asserts that each placeholder is painted before its picture arrives, then that each picture loaded at its size and
that the placeholder's mean colour is the picture's (the picture read back through a canvas: the Gateway's CORS
lets the page read it).
"""
import base64
import json
import os
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

ITEMS = json.loads(os.environ["MEDIA_PH_ITEMS"])
SHOTS = os.environ["MEDIA_PH_SCREENSHOTS"]

# The reference decoder (evanw/thumbhash, thumbHashToRGBA), as a page would carry it.
DECODER = r"""
function aspect(hash) {
  const hasAlpha = hash[2] & 0x80, landscape = hash[4] & 0x80;
  const lx = landscape ? (hasAlpha ? 5 : 7) : hash[3] & 7, ly = landscape ? hash[3] & 7 : (hasAlpha ? 5 : 7);
  return lx / ly;
}
function thumbHashToRGBA(hash) {
  const { PI, min, max, cos, round } = Math;
  const h24 = hash[0] | (hash[1] << 8) | (hash[2] << 16), h16 = hash[3] | (hash[4] << 8);
  const lDC = (h24 & 63) / 63, pDC = ((h24 >> 6) & 63) / 31.5 - 1, qDC = ((h24 >> 12) & 63) / 31.5 - 1;
  const lScale = ((h24 >> 18) & 31) / 31, hasAlpha = h24 >> 23;
  const pScale = ((h16 >> 3) & 63) / 63, qScale = ((h16 >> 9) & 63) / 63, landscape = h16 >> 15;
  const lx = max(3, landscape ? (hasAlpha ? 5 : 7) : h16 & 7), ly = max(3, landscape ? h16 & 7 : (hasAlpha ? 5 : 7));
  const aDC = hasAlpha ? (hash[5] & 15) / 15 : 1, aScale = (hash[5] >> 4) / 15;
  const start = hasAlpha ? 6 : 5;
  let index = 0;
  const channel = (nx, ny, scale) => {
    const ac = [];
    for (let cy = 0; cy < ny; cy++)
      for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++, index++)
        ac.push((((hash[start + (index >> 1)] >> ((index & 1) << 2)) & 15) / 7.5 - 1) * scale);
    return ac;
  };
  const lAC = channel(lx, ly, lScale), pAC = channel(3, 3, pScale * 1.25), qAC = channel(3, 3, qScale * 1.25);
  const aAC = hasAlpha && channel(5, 5, aScale);
  const ratio = aspect(hash);
  const w = round(ratio > 1 ? 32 : 32 * ratio), h = round(ratio > 1 ? 32 / ratio : 32);
  const rgba = new Uint8ClampedArray(w * h * 4), fx = [], fy = [];
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i += 4) {
      let l = lDC, p = pDC, q = qDC, a = aDC;
      for (let cx = 0, n = max(lx, hasAlpha ? 5 : 3); cx < n; cx++) fx[cx] = cos(PI / w * (x + 0.5) * cx);
      for (let cy = 0, n = max(ly, hasAlpha ? 5 : 3); cy < n; cy++) fy[cy] = cos(PI / h * (y + 0.5) * cy);
      for (let cy = 0, j = 0; cy < ly; cy++)
        for (let cx = cy ? 0 : 1, fy2 = fy[cy] * 2; cx * ly < lx * (ly - cy); cx++, j++) l += lAC[j] * fx[cx] * fy2;
      for (let cy = 0, j = 0; cy < 3; cy++)
        for (let cx = cy ? 0 : 1, fy2 = fy[cy] * 2; cx < 3 - cy; cx++, j++) { const f = fx[cx] * fy2; p += pAC[j] * f; q += qAC[j] * f; }
      if (hasAlpha)
        for (let cy = 0, j = 0; cy < 5; cy++)
          for (let cx = cy ? 0 : 1, fy2 = fy[cy] * 2; cx < 5 - cy; cx++, j++) a += aAC[j] * fx[cx] * fy2;
      const b = l - 2 / 3 * p, r = (3 * l - b + q) / 2, g = r - q;
      rgba[i] = 255 * min(1, r); rgba[i + 1] = 255 * min(1, g); rgba[i + 2] = 255 * min(1, b); rgba[i + 3] = 255 * min(1, a);
    }
  }
  return { w, h, rgba };
}
"""

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Feed</title>
<style>body{font:14px sans-serif;margin:16px;background:#fafafa} .grid{display:flex;flex-wrap:wrap;gap:12px}
.card{position:relative;width:320px;height:240px;border-radius:8px;overflow:hidden}
.card canvas,.card img{position:absolute;inset:0;width:100%;height:100%;object-fit:cover}
.card img{opacity:0;transition:opacity .2s}.card img.in{opacity:1}</style></head>
<body><h3>placeholders first, then auto-format transforms</h3><div class="grid" id="grid"></div>
<script>""" + DECODER + """
const items = ITEMS;
const grid = document.getElementById('grid');
for (const item of items) {
  const card = document.createElement('div');
  card.className = 'card';
  card.style.background = item.dominant_color;
  const hash = Uint8Array.from(atob(item.thumbhash), c => c.charCodeAt(0));
  const { w, h, rgba } = thumbHashToRGBA(hash);
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = h; canvas.id = 'ph-' + item.id;
  canvas.getContext('2d').putImageData(new ImageData(rgba, w, h), 0, 0);
  const img = document.createElement('img');
  img.id = 'img-' + item.id;
  img.crossOrigin = 'anonymous';
  img.onload = () => img.classList.add('in');
  card.append(canvas, img);
  grid.append(card);
}
window.placeholdersPainted = true;
// As a slow network would: the pictures arrive two seconds after their placeholders.
setTimeout(() => { for (const item of items) document.getElementById('img-' + item.id).src = item.url; }, 2000);
</script></body></html>"""


def browser():
    options = Options()
    options.binary_location = os.environ.get("MEDIA_TEST_CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,700", "--disable-gpu",
                "--no-first-run", "--disable-background-networking", "--disable-component-update"]:
        options.add_argument(arg)
    service = Service(executable_path=os.environ.get("MEDIA_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def shot(driver, name):
    path = os.path.join(SHOTS, f"{name}.png")
    data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
    with open(path, "wb") as f:
        f.write(base64.b64decode(data))
    print(f"screenshot {path}")


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}")
        sys.exit(1)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    page = os.path.join(tempfile.mkdtemp(prefix="placeholders-"), "feed.html")
    with open(page, "w") as f:
        f.write(PAGE.replace("ITEMS", json.dumps(ITEMS)))
    driver = browser()
    try:
        driver.get("file://" + page)
        check(driver.execute_script("return window.placeholdersPainted === true"), "the page painted no placeholders")
        mean_of = """
            const e = document.getElementById(arguments[0]); let c = e;
            if (e.tagName === 'IMG') { c = document.createElement('canvas'); c.width = 64; c.height = 48;
                                       c.getContext('2d').drawImage(e, 0, 0, 64, 48); }
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const s = [0, 0, 0, 0]; for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 4; k++) s[k] += d[i + k];
            return s.map(v => v / (d.length / 4));"""
        placeholders = {}
        for item in ITEMS:
            mean = driver.execute_script(mean_of, f"ph-{item['id']}")
            placeholders[item["id"]] = mean
            check(mean[3] > 250, f"media {item['id']}: no placeholder painted ({mean})")
            check(len(item["dominant_color"]) == 7 and item["dominant_color"].startswith("#"), f"dominant colour {item}")
            loaded = driver.execute_script("return document.getElementById(arguments[0]).complete && "
                                           "document.getElementById(arguments[0]).naturalWidth > 0", f"img-{item['id']}")
            check(not loaded, f"media {item['id']}: the picture was there before its placeholder was seen")
        shot(driver, "placeholders")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(driver.execute_script("const i = document.getElementById(arguments[0]); return i.complete && i.naturalWidth > 0",
                                         f"img-{item['id']}") for item in ITEMS):
                break
            time.sleep(0.2)
        for item in ITEMS:
            size = driver.execute_script("const i = document.getElementById(arguments[0]); return [i.naturalWidth, i.naturalHeight]",
                                         f"img-{item['id']}")
            print(f"media {item['id']}: loaded {size[0]}x{size[1]} from {item['url']}")
            check(size == [item["width"], item["height"]], f"media {item['id']}: loaded {size}, not {item['width']}x{item['height']}")
            picture = driver.execute_script(mean_of, f"img-{item['id']}")
            placeholder = placeholders[item["id"]]
            far = max(abs(a - b) for a, b in zip(placeholder[:3], picture[:3]))
            print(f"media {item['id']}: placeholder mean {[round(v) for v in placeholder[:3]]}, "
                  f"picture mean {[round(v) for v in picture[:3]]}, dominant {item['dominant_color']}")
            check(far < 40, f"media {item['id']}: the placeholder's colours are {far:.0f} levels off the picture's")
        time.sleep(0.4)   # the fade-in
        shot(driver, "loaded")
    finally:
        driver.quit()
    print("OK")


if __name__ == "__main__":
    main()

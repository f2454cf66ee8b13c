#!/usr/bin/env python3
"""The admin console in a real browser (SPEC §7): headless Debian Chromium driven over WebDriver by Selenium.

Run by the Swift test `AdminConsoleBrowserTests`, which starts the real services, makes the media this script needs
(some failed and dead-lettered by a broken ImageService, then a working one) and passes them in the environment:

  MEDIA_ADMIN_BASE_URL    the Gateway
  MEDIA_ADMIN_STAFF_TOKEN / MEDIA_ADMIN_USER_TOKEN   a staff and a non-staff access token
  MEDIA_ADMIN_TAG         a word in the file names of this run's media (the search finds them by it)
  MEDIA_ADMIN_IMAGE / _VIDEO / _AUDIO   ids of ready media of each type
  MEDIA_ADMIN_FAILED      comma-separated ids of failed media whose jobs are in image-service.dead
  MEDIA_ADMIN_SCREENSHOTS where to save a screenshot of every page

Every step asserts what a person would see; the first failure stops the script with a message and exit status 1.
"""
import base64
import os
import sys
import time
import traceback

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

BASE = os.environ["MEDIA_ADMIN_BASE_URL"].rstrip("/")
STAFF = os.environ["MEDIA_ADMIN_STAFF_TOKEN"]
USER = os.environ["MEDIA_ADMIN_USER_TOKEN"]
TAG = os.environ["MEDIA_ADMIN_TAG"]
IMAGE = int(os.environ["MEDIA_ADMIN_IMAGE"])
VIDEO = int(os.environ["MEDIA_ADMIN_VIDEO"])
AUDIO = int(os.environ["MEDIA_ADMIN_AUDIO"])
FAILED = [int(x) for x in os.environ["MEDIA_ADMIN_FAILED"].split(",") if x]
SHOTS = os.environ["MEDIA_ADMIN_SCREENSHOTS"]


def browser():
    options = Options()
    options.binary_location = os.environ.get("MEDIA_TEST_CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--disable-gpu",
                "--no-first-run", "--disable-background-networking", "--disable-component-update"]:
        options.add_argument(arg)
    service = Service(executable_path=os.environ.get("MEDIA_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


def shot(driver, name):
    """The whole page, not only the window (Chromium's DevTools capture beyond the viewport)."""
    path = os.path.join(SHOTS, f"{name}.png")
    data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
    with open(path, "wb") as f:
        f.write(base64.b64decode(data))
    print(f"screenshot {path}")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def eventually(what, predicate, timeout=90, interval=1.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def text(driver):
    """The page's visible text; a page replaced while reading it (or not there yet: a navigation under way) is read
    again."""
    for _ in range(50):
        try:
            return driver.find_element(By.TAG_NAME, "body").text
        except (StaleElementReferenceException, NoSuchElementException):
            time.sleep(0.1)
    return ""


def shows(driver, needle, timeout=15):
    """Waits (a click's navigation may still be under way) until the page's text contains `needle`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if needle in text(driver):
            return True
        time.sleep(0.1)
    return False


def notice(driver):
    """The notice a form's result page shows (waiting for that page)."""
    for _ in range(150):
        found = driver.find_elements(By.ID, "notice")
        if found:
            try:
                return found[0].text
            except StaleElementReferenceException:
                pass
        time.sleep(0.1)
    raise AssertionError(f"no notice on {driver.current_url}: {text(driver)[:300]}")


def login(driver, token):
    driver.get(BASE + "/admin/login")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "sign-in").click()


def rows(driver):
    """id → status of the list page's rows (read again if the page reloads meanwhile: it does while media process)."""
    for _ in range(50):
        try:
            return {int(r.get_attribute("data-id")): r.get_attribute("data-status")
                    for r in driver.find_elements(By.CSS_SELECTOR, "#media tbody tr[data-id]")}
        except StaleElementReferenceException:
            time.sleep(0.1)
    return {}


def watch_until_ready(driver, ids, what):
    """The list of this run's media, reloaded as a person would, until the rows of `ids` say ready."""
    driver.get(f"{BASE}/admin/mediafiles/media/?q={TAG}")

    def ready():
        driver.refresh()
        found = rows(driver)
        return all(found.get(i) == "ready" for i in ids)
    eventually(f"{what} to show ready", ready)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    driver = browser()
    try:
        # No session: the login page, answered 401 (the status is checked by the Swift test; here what a person sees).
        driver.get(BASE + "/admin/mediafiles/media/")
        check(driver.find_elements(By.ID, "token"), "no session shows the login form")
        shot(driver, "01-login")

        # A non-staff token is refused.
        login(driver, USER)
        check(shows(driver, "Staff only"), f"a non-staff token is refused: {text(driver)[:300]}")
        check(not driver.get_cookie("mediaflow_admin"), "no session cookie for a non-staff token")
        shot(driver, "02-not-staff")

        # A staff token signs in: the list of every user's media.
        login(driver, STAFF)
        eventually("the media list after signing in", lambda: driver.current_url.endswith("/admin/mediafiles/media/"), 15, 0.1)
        cookie = driver.get_cookie("mediaflow_admin")
        check(cookie and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict",
              f"the session cookie is HttpOnly and SameSite=Strict: {cookie}")
        check(driver.find_elements(By.CSS_SELECTOR, "#media tbody tr[data-id]"), "the list shows media")
        shot(driver, "03-media-list")

        # Search by file name: this run's media, and only them.
        box = driver.find_element(By.ID, "search")
        box.clear()
        box.send_keys(TAG)
        driver.find_element(By.ID, "filter").click()
        eventually("the search's results", lambda: f"q={TAG}" in driver.current_url, 15, 0.1)
        found = rows(driver)
        expected = {IMAGE, VIDEO, AUDIO, *FAILED}
        check(set(found) == expected, f"the search for {TAG} finds exactly {sorted(expected)}, found {sorted(found)}")
        check(all(TAG in a.text for a in driver.find_elements(By.CSS_SELECTOR, "#media tbody td:nth-child(4) a")),
              "every row found has the tag in its file name")
        imgs = driver.find_elements(By.CSS_SELECTOR, f"#media tr[data-id='{IMAGE}'] img.thumb")
        check(imgs and driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", imgs[0]) == 150,
              "the image's thumbnail shows in the list (150 px wide)")
        shot(driver, "04-search")

        # An image: every rendition shows, at its real size.
        driver.get(f"{BASE}/admin/mediafiles/media/{IMAGE}/")
        sizes = {i.get_attribute("data-rendition"): driver.execute_script(
                     "return arguments[0].complete ? [arguments[0].naturalWidth, arguments[0].naturalHeight] : null", i)
                 for i in driver.find_elements(By.CSS_SELECTOR, "figure img")}
        check(sizes.get("thumbnail") == [150, 150], f"thumbnail 150×150: {sizes}")
        check(sizes.get("small") == [320, 240] and sizes.get("medium") == [640, 480] and sizes.get("large") == [800, 600],
              f"small, medium and large at their real sizes (800×600 source): {sizes}")
        check(sizes.get("webp") == [640, 480], f"the WebP shows too: {sizes}")
        shot(driver, "05-image")

        # A video: it plays (time advances) with a real picture.
        driver.get(f"{BASE}/admin/mediafiles/media/{VIDEO}/")
        played = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const v = document.getElementById('player');
            v.muted = true;
            v.play().then(() => setTimeout(() => { v.pause(); done([v.currentTime, v.videoWidth, v.videoHeight, v.error && v.error.code]); }, 1500),
                          e => done(['play failed: ' + e]));""")
        check(isinstance(played[0], (int, float)) and played[0] > 0.5 and played[1] > 0,
              f"the video plays (currentTime, width, height, error): {played}")
        shot(driver, "06-video")

        # An audio: it plays, and its waveform is drawn.
        driver.get(f"{BASE}/admin/mediafiles/media/{AUDIO}/")
        played = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const a = document.getElementById('player');
            a.play().then(() => setTimeout(() => { a.pause(); done([a.currentTime, a.duration, a.error && a.error.code]); }, 1500),
                          e => done(['play failed: ' + e]));""")
        check(isinstance(played[0], (int, float)) and played[0] > 0.5, f"the audio plays (currentTime, duration, error): {played}")
        path = driver.find_elements(By.CSS_SELECTOR, "#waveform svg path")
        check(path and len(path[0].get_attribute("d")) > 2000, "the waveform is drawn (an outline of hundreds of points)")
        box = driver.execute_script("const r = document.querySelector('#waveform svg').getBoundingClientRect(); return [r.width, r.height]")
        check(box[0] > 400 and box[1] >= 100, f"the waveform is visible on the page: {box}")
        shot(driver, "07-audio")

        # Bulk reprocess two failed media, and watch them turn ready.
        two, rest = FAILED[:2], FAILED[2:]
        driver.get(f"{BASE}/admin/mediafiles/media/?q={TAG}&status=failed")
        check(set(rows(driver)) == set(FAILED), f"the failed filter shows the failed media: {rows(driver)}")
        for media_id in two:
            driver.find_element(By.CSS_SELECTOR, f"input[name='ids[]'][value='{media_id}']").click()
        Select(driver.find_element(By.ID, "action")).select_by_value("reprocess")
        shot(driver, "08-bulk-selected")
        driver.find_element(By.ID, "apply").click()
        said = notice(driver)
        check("reprocess: 2 done" in said, f"the notice says both were reprocessed: {said}")
        watch_until_ready(driver, two, "the two reprocessed media")
        shot(driver, "09-bulk-ready")

        # The list of this run's media stays open in a tab of its own, not reloaded: it follows live status.
        driver.get(f"{BASE}/admin/mediafiles/media/?q={TAG}")
        listing = driver.current_window_handle
        check(all(rows(driver).get(i) == "failed" for i in rest), f"the others are failed before the replay: {rows(driver)}")
        eventually("the list to say it is live", lambda: driver.find_element(By.ID, "live").is_displayed(), 15, 0.1)
        driver.execute_script("window.notReloaded = true")
        driver.switch_to.new_window("tab")

        # Replay the dead-letter group of the others: they turn ready too; the two reprocessed are skipped.
        driver.get(BASE + "/admin/dead-letters/")
        groups = driver.find_elements(By.CSS_SELECTOR, "#groups tbody tr")
        group = [g for g in groups if "image-service.dead" in g.text and "processing_error" in g.text]
        check(group, f"the dead-letter group image-service.dead / processing_error is listed: {[g.text for g in groups]}")
        check(all(f"/admin/mediafiles/media/{i}/" in driver.page_source for i in FAILED),
              "each failed media's dead letter is listed with a link to it")
        shot(driver, "10-dead-letters")
        group[0].find_element(By.CSS_SELECTOR, "button.replay-group").click()
        said = notice(driver)
        check(said.startswith("Replayed ") and int(said.split()[1].rstrip(";")) >= len(rest),
              f"the notice says the group was replayed: {said}")
        shot(driver, "11-replayed")
        dead_letters = driver.current_window_handle
        driver.switch_to.window(listing)
        eventually("the open list to show the replayed media ready without a reload",
                   lambda: all(rows(driver).get(i) == "ready" for i in rest), 60, 0.2)
        check(driver.execute_script("return window.notReloaded === true"), "the list was not reloaded: it is live")
        driver.switch_to.window(dead_letters)
        driver.close()
        driver.switch_to.window(listing)
        watch_until_ready(driver, FAILED, "every failed media, after the replay")
        shot(driver, "12-all-ready")

        # A Janitor task as a dry run.
        driver.get(BASE + "/admin/janitor/")
        driver.find_element(By.CSS_SELECTOR, "button.dry-run[data-task='orphan_sweep']").click()
        said = notice(driver)
        check(said.startswith("orphan_sweep (dry run): run "), f"the dry run's result is shown: {said}")
        # The run the notice names, found by its id: the Janitor's own schedule may record a run in the same second
        # (seen: outbox_watch, due every minute, listed above it), so "the newest row" is not the test.
        run_id = said[len("orphan_sweep (dry run): run "):].split(",")[0]
        runs = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")]
        ours = [row for row in runs if row.split(" ")[0] == run_id]
        check(len(ours) == 1 and "orphan_sweep" in ours[0] and "dry run" in ours[0] and "staff:" in ours[0],
              f"run {run_id} is listed as the staff's dry run: {runs[:3]}")
        shot(driver, "13-janitor")

        # Stats, as charts.
        driver.get(BASE + "/admin/stats/")
        charts = driver.find_elements(By.CSS_SELECTOR, ".chart svg")
        check(len(charts) == 4, f"four charts: {len(charts)}")
        check(driver.find_elements(By.CSS_SELECTOR, ".chart svg rect"), "the charts have bars")
        shot(driver, "14-stats")

        # A form posted without its CSRF token is refused, and nothing is done.
        driver.get(f"{BASE}/admin/mediafiles/media/{IMAGE}/")
        driver.execute_script("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
        driver.find_element(By.ID, "delete").click()
        check(shows(driver, "csrf_failed"), f"a form without its CSRF token is refused: {text(driver)[:300]}")
        shot(driver, "15-csrf-refused")
        driver.get(f"{BASE}/admin/mediafiles/media/{IMAGE}/")
        check(driver.find_elements(By.CSS_SELECTOR, "figure img"), "and the media was not deleted")

        # Log out: the session is gone.
        driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
        eventually("the login page after logging out", lambda: driver.current_url.endswith("/admin/login"), 15, 0.1)
        check(driver.find_elements(By.ID, "token") and not driver.get_cookie("mediaflow_admin"), "logged out")
        driver.get(BASE + "/admin/stats/")
        check(driver.find_elements(By.ID, "token"), "after logging out, pages ask for a token again")
        print("admin console: every browser check passed")
        return 0
    except Exception:
        traceback.print_exc()
        try:
            shot(driver, "zz-failure")
            print("page at failure:", driver.current_url, text(driver)[:2000])
        except Exception:
            pass
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())

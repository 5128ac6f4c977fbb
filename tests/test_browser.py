"""Play one commission through the UI in headless Chromium, then open the share link in a
fresh browser profile and see the same song."""

import shutil
import tempfile
import time

import pytest

pytestmark = pytest.mark.browser

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1300,1600", "--autoplay-policy=no-user-gesture-required"]


def make_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for f in [*FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='kotone-chrome-')}"]:
        opts.add_argument(f)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def wait_for(driver, css, timeout=60, predicate=lambda els: bool(els)):
    deadline = time.time() + timeout
    while time.time() < deadline:
        els = driver.find_elements("css selector", css)
        if predicate(els):
            return els
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {css!r}; page text: {driver.find_element('tag name', 'body').text[:800]}")


def click_first_option(driver, elem_id):
    labels = wait_for(driver, f"#{elem_id} label")
    driver.execute_script("arguments[0].click();", labels[0])
    return labels[0].text


def studio_state(driver):
    img = wait_for(driver, "#k-roll img", predicate=lambda els: els and els[0].get_attribute("src"))[0]
    audio = wait_for(driver, "#k-audio a.download-link", predicate=lambda els: els and els[0].get_attribute("href"))[0]
    score = wait_for(driver, "#k-score .k-total", predicate=lambda els: els and els[0].text.strip())[0].text
    title = driver.find_element("css selector", ".k-song-head h2").text
    return {"img": img.get_attribute("src"), "audio": audio.get_attribute("href"), "score": score, "title": title}


@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium / chromedriver not installed (see README)")
def test_play_a_commission_and_open_the_share_link(app_server, tmp_path):
    url = app_server["url"]
    d = make_driver()
    try:
        d.get(url)
        click_first_option(d, "k-pick")
        d.execute_script("arguments[0].click();", wait_for(d, "#k-take")[0])
        wait_for(d, ".k-request-box i")  # the request is shown on the Compose tab
        for slot in ("style", "instrument", "mood", "gimmick"):
            click_first_option(d, f"k-slot-{slot}")
        d.execute_script("arguments[0].click();", wait_for(d, "#k-compose")[0])
        first = studio_state(d)
        share = wait_for(d, "#k-share textarea, #k-share input",
                         predicate=lambda els: els and els[0].get_attribute("value"))[0].get_attribute("value")
        assert share.startswith("?song=")
        d.save_screenshot(str(tmp_path / "studio.png"))
    finally:
        d.quit()
    fresh = make_driver()  # a new profile: no browser state, no cookies
    try:
        fresh.get(url + share)
        second = studio_state(fresh)
    finally:
        fresh.quit()
    assert second["title"] == first["title"]
    assert second["score"] == first["score"]
    # the served file URL carries a hash of the audio bytes: same path means the same audio
    assert second["audio"].split("file=")[-1] == first["audio"].split("file=")[-1]
    assert first["audio"].endswith((".mp3", ".ogg", ".wav"))


@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium / chromedriver not installed (see README)")
def test_own_request_is_interpreted_and_shown_escaped(app_server):
    d = make_driver()
    try:
        d.get(app_server["url"])
        wait_for(d, "#k-pick label")
        d.execute_script("document.querySelectorAll('details, .label-wrap').forEach(e => e.click && e.click())")
        box = wait_for(d, "textarea[placeholder*='first snow']")[0]
        d.execute_script("arguments[0].scrollIntoView()", box)
        box.send_keys("a lullaby <b id='xss'>with bells</b> for my cat")
        buttons = [b for b in d.find_elements("css selector", "button") if "Ask the atelier" in b.text]
        d.execute_script("arguments[0].click();", buttons[0])
        shown = wait_for(d, ".k-request-box i", predicate=lambda els: els and "lullaby" in els[0].text)[0]
        assert "<b id='xss'>with bells</b>" in shown.text  # shown as text, not markup
        assert not d.find_elements("css selector", "#xss")
    finally:
        d.quit()

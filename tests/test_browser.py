"""Play the game in headless Chromium at desktop (1366x900) and phone (390x844) sizes.

One commission is taken and composed per size (module fixture); the tests then check the
issue's bars on that page: two Compose clicks give two songs, a locked card and a bad
refinement each show one message and leave the roll, audio and card lists alone, the
playhead follows the audio, the share link is absolute and opens the same song in a fresh
profile, and on the phone the Compose button is on screen without scrolling the catalog.
"""

import json
import shutil
import tempfile
import time

import pytest

pytestmark = pytest.mark.browser

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1300,1600", "--autoplay-policy=no-user-gesture-required"]
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
needs_chromium = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium / chromedriver not installed (README)")


def make_driver(size=None):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for f in [*FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='kotone-chrome-')}"]:
        opts.add_argument(f)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    if size:  # the page's own viewport, as a phone or a laptop screen would give it
        driver.set_window_size(*size)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size[0] < 600})
    return driver


def wait_for(driver, css, timeout=60, predicate=lambda els: bool(els)):
    deadline = time.time() + timeout
    while time.time() < deadline:
        els = driver.find_elements("css selector", css)
        if predicate(els):
            return els
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {css!r}; page text: {driver.find_element('tag name', 'body').text[:800]}")


def click(driver, el):
    driver.execute_script("arguments[0].click();", el)


def open_tab(driver, label, container="#k-tabs"):
    tab = wait_for(driver, f"{container} button[role=tab]",
                   predicate=lambda els: any(label in e.text for e in els))
    click(driver, next(e for e in tab if label in e.text))
    time.sleep(0.4)


def roll_state(driver):
    """What the Studio shows: the song id, its notes, the audio source and the title."""
    open_tab(driver, "Studio")
    roll = wait_for(driver, ".k-roll[data-song]")[0]
    return {"song": roll.get_attribute("data-song"),
            "notes": driver.execute_script("return document.querySelector('.k-roll-data').dataset.roll"),
            "audio": driver.find_element("css selector", ".k-roll audio.k-player").get_attribute("src"),
            "title": driver.find_element("css selector", ".k-song-head h2").text,
            "score": wait_for(driver, "#k-score .k-total")[0].text}


def visible_messages(driver):
    """Every message a player could read: ours, Gradio's validation lines, toasts, error badges."""
    return driver.execute_script("""
        const out = [];
        document.querySelectorAll('.k-msg, .validation-error, .toast-body, [data-testid=toast-body]')
          .forEach(e => { if (e.offsetParent !== null && e.textContent.trim() && !e.matches('textarea'))
                          out.push(e.textContent.trim()); });
        document.querySelectorAll('.error').forEach(e => { if (e.offsetParent !== null && /Error/.test(e.textContent))
                          out.push('badge: ' + e.textContent.trim()); });
        return out;""")


def tile_count(driver):
    open_tab(driver, "Cards")
    return len(wait_for(driver, ".k-tiles .k-tile"))


def compose(driver, previous=None):
    open_tab(driver, "Cards")
    click(driver, wait_for(driver, "#k-compose")[0])
    wait_for(driver, ".k-roll[data-song]", timeout=120,
             predicate=lambda els: els and els[0].get_attribute("data-song") != previous)
    return roll_state(driver)


@pytest.fixture(scope="module", params=list(SIZES))
def played(request, app_server):
    """A page at one size on which a commission was taken, four cards chosen and one song composed."""
    if not (CHROMIUM and DRIVER):
        pytest.skip("chromium / chromedriver not installed (see README)")
    d = make_driver(SIZES[request.param])
    d.get(app_server["url"])
    click(d, wait_for(d, ".k-commission[data-take]", timeout=90)[0])
    wait_for(d, "#k-hand")  # the Cards tab opened with the request
    for slot in ("Style", "Instrument", "Mood", "Gimmick"):
        open_tab(d, slot, "#k-slot-tabs")
        before = len(d.find_elements("css selector", ".k-chip-on"))
        click(d, wait_for(d, f"#k-tiles-{slot.lower()} [data-pick]")[0])
        wait_for(d, ".k-chip-on", predicate=lambda els, n=before: len(els) > n)
    state = compose(d)
    yield {"driver": d, "size": request.param, "first": state, "url": app_server["url"]}
    d.quit()


@needs_chromium
def test_two_compose_clicks_give_two_songs(played):
    d, first = played["driver"], played["first"]
    seed1 = d.execute_script("return document.querySelector('#k-seed input, #k-seed textarea').value")
    second = compose(d, previous=first["song"])
    seed2 = d.execute_script("return document.querySelector('#k-seed input, #k-seed textarea').value")
    assert second["song"] != first["song"]
    assert seed1 and seed2 and seed1 != seed2  # the seed used is written back, and it is a new one
    assert json.loads(second["notes"])["tracks"] != json.loads(first["notes"])["tracks"]
    played["first"] = second


@needs_chromium
def test_locked_card_shows_one_message_and_leaves_everything_else(played):
    d = played["driver"]
    before = roll_state(d)
    tiles = tile_count(d)
    click(d, wait_for(d, ".k-tile.k-locked[data-locked]")[0])
    msg = wait_for(d, "#k-cards-msg .k-msg", predicate=lambda els: els and "locked" in els[0].text)[0].text
    assert "is locked" in msg and "coins" in msg
    assert visible_messages(d) == [msg]
    assert len(d.find_elements("css selector", ".k-tiles .k-tile")) == tiles
    assert roll_state(d) == before


@needs_chromium
def test_bad_refinement_shows_one_message_and_leaves_everything_else(played):
    d = played["driver"]
    before = roll_state(d)
    box = wait_for(d, "#k-refine textarea, #k-refine input")[0]
    box.clear()
    box.send_keys("make it purple")
    click(d, wait_for(d, "#k-refine-go")[0])
    msg = wait_for(d, "#k-refine .validation-error")[0].text
    assert "purple" in msg and "Try" in msg
    assert visible_messages(d) == [msg]
    assert roll_state(d) == before
    assert tile_count(d) > 0


@needs_chromium
def test_playhead_follows_the_audio(played):
    d = played["driver"]
    roll_state(d)
    d.execute_script("const a = document.querySelector('.k-roll audio.k-player'); a.muted = true; a.play();")
    playhead = "return parseFloat(document.querySelector('.k-playhead').dataset.t)"
    deadline = time.time() + 20
    while d.execute_script(playhead) < 0.5 and time.time() < deadline:
        time.sleep(0.2)
    t1 = d.execute_script(playhead)
    time.sleep(1.0)
    t2 = d.execute_script(playhead)
    assert 0.5 <= t1 < t2, (t1, t2)  # it moves while the audio plays
    d.execute_script("document.querySelector('.k-roll audio.k-player').pause()")
    time.sleep(0.3)
    t3 = d.execute_script(playhead)
    time.sleep(1.0)
    assert d.execute_script(playhead) == t3  # and stops when it pauses
    x = d.execute_script("return document.querySelector('.k-playhead').style.transform")
    assert x.startswith("translateX(") and x != "translateX(0.0px)"


@needs_chromium
def test_share_link_is_absolute_and_opens_the_same_song_in_a_fresh_profile(played):
    d, url = played["driver"], played["url"]
    shown = roll_state(d)
    share = wait_for(d, "#k-share textarea, #k-share input",
                     predicate=lambda els: els and els[0].get_attribute("value"))[0].get_attribute("value")
    assert share == f"{url}?song={shown['song']}"
    fresh = make_driver(SIZES[played["size"]])  # a new profile: no browser state, no cookies
    try:
        fresh.get(share)
        opened = roll_state(fresh)
    finally:
        fresh.quit()
    assert opened == shown
    assert opened["audio"].endswith((".mp3", ".ogg", ".wav"))


@needs_chromium
def test_phone_compose_button_is_on_screen_without_scrolling_the_catalog(played):
    if played["size"] != "phone":
        pytest.skip("phone layout only")
    d = played["driver"]
    open_tab(d, "Cards")
    d.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    rect = "const r = document.querySelector('#k-compose').getBoundingClientRect(); return [r.top, r.bottom, innerHeight]"
    top, bottom, height = d.execute_script(rect)
    assert top >= 0 and bottom <= height, (top, bottom, height)
    d.execute_script("window.scrollTo(0, document.body.scrollHeight / 2)")  # deep in the catalog
    time.sleep(0.3)
    top, bottom, height = d.execute_script(rect)
    assert top >= 0 and bottom <= height, ("sticky", top, bottom, height)


@needs_chromium
def test_own_request_is_interpreted_and_shown_escaped(app_server):
    d = make_driver(SIZES["desktop"])
    try:
        d.get(app_server["url"])
        wait_for(d, ".k-commission")
        d.execute_script("document.querySelectorAll('button.label-wrap').forEach(e => e.click())")
        box = wait_for(d, "#k-own textarea")[0]
        box.send_keys("a lullaby <b id='xss'>with bells</b> for my cat")
        click(d, wait_for(d, "#k-own-go")[0])
        shown = wait_for(d, ".k-request-box i", predicate=lambda els: els and "lullaby" in els[0].text)[0]
        assert "<b id='xss'>with bells</b>" in shown.text  # shown as text, not markup
        assert not d.find_elements("css selector", "#xss")
    finally:
        d.quit()

"""Launch the app on loopback and drive it as a client would: the named API endpoints with
gradio_client, the UI's private handlers and the raw routes with plain HTTP."""

import json
import re

import httpx
import pytest
from gradio_client import Client

from eval.fuzz import QueueClient

pytestmark = pytest.mark.browser
CARDS = ("style_folk", "instrument_nylon", "mood_tender", "gimmick_rain")


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server["url"], verbose=False, headers={"X-Forwarded-For": "10.1.0.1"})


@pytest.fixture(scope="module")
def composed(client):
    return client.predict("c001", *CARDS, 42, api_name="/compose")


@pytest.fixture(scope="module")
def fn_index(app_server):
    config = httpx.get(app_server["url"] + "config", timeout=30).json()
    return {d["api_name"]: d["id"] for d in config["dependencies"]}


def song_dirs(app_server):
    return sorted(p.name for p in (app_server["data"] / "songs").iterdir() if not p.name.startswith("."))


def call_raw(app_server, api: str, body: bytes) -> str:
    """POST a raw JSON body to /gradio_api/call/<api>; the error or data message of the result."""
    base = app_server["url"] + f"gradio_api/call/{api}"
    r = httpx.post(base, content=body, headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    return httpx.get(f"{base}/{r.json()['event_id']}", timeout=60).text


def test_named_endpoints_exist(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/commissions", "/compose", "/song"} <= names


def test_commission_compose_song_roundtrip(client, composed):
    commissions = client.predict(api_name="/commissions")
    assert len(commissions) >= 60
    song = composed
    assert song["commission_id"] == "c001"
    assert 0 <= song["score"]["total"] <= 100 and song["score"]["rank"] in "SABCD"
    assert len(song["score"]["coaching"]) == 4
    assert song["share"] == f"?song={song['song_id']}"
    again = client.predict(song["song_id"], api_name="/song")
    assert again["song_id"] == song["song_id"] and again["measured"] == song["measured"]
    assert again["score"]["total"] == song["score"]["total"] and again["score"]["rank"] == song["score"]["rank"]


def test_compose_reports_when_it_was_created(client, composed):
    again = client.predict(composed["song_id"], api_name="/song")
    assert isinstance(composed["created"], float) and composed["created"] == again["created"]


def test_hidden_target_goes_only_to_the_composer(client, composed):
    assert set(composed["score"]["target"]) == {"energy", "warmth", "brightness", "acousticness", "complexity",
                                                "nostalgia"}
    shared = client.predict(composed["song_id"], api_name="/song")
    assert "target" not in shared["score"] and "coaching" not in shared["score"]
    assert "commission" not in shared and "target" not in json.dumps(shared)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("c001", "style_nope", "instrument_nylon", "mood_tender", "gimmick_rain", 1), "unknown card id"),
        (("c001", "instrument_nylon", "instrument_nylon", "mood_tender", "gimmick_rain", 1), "not a style card"),
        (("c999", *CARDS, 1), "unknown commission"),
        (("c001", *CARDS, -3), "seed must be"),
        (("c001", *CARDS, ""), "seed is required"),
        (("c001", *CARDS, "seven"), "seed: expected a number"),
        (("x" * 5000, *CARDS, 1), "too long"),
    ],
)
def test_bad_compose_input_is_refused_and_saves_nothing(client, app_server, args, message):
    before = song_dirs(app_server)
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name="/compose")
    assert song_dirs(app_server) == before


def test_numeric_text_seed_is_read_as_a_number(client):
    assert client.predict("", *CARDS, "7", api_name="/compose")["seed"] == 7


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_seed_gets_a_clear_error_that_hides_nothing(app_server, token):
    body = f'{{"data": ["c999", "style_nope", "{CARDS[1]}", "{CARDS[2]}", "{CARDS[3]}", {token}]}}'.encode()
    before = song_dirs(app_server)
    out = call_raw(app_server, "compose", body)
    assert "seed: expected a finite number" in out and "verbose error" not in out
    assert song_dirs(app_server) == before


@pytest.mark.parametrize("forged", ["../../etc/passwd", "AAAAAAAAAAAAAAAA", "<img src=x>", ""])
def test_forged_song_ids_are_refused(client, forged):
    with pytest.raises(Exception, match="song"):
        client.predict(forged, api_name="/song")


def test_private_handlers_refuse_bad_text_clearly_and_the_session_goes_on(app_server, fn_index):
    q = QueueClient(app_server["url"], "10.9.8.7")
    try:
        status, message = q.call(fn_index["ui_refine"], [None, "make it \ud800 sadder", None])
        assert status in ("error", "http") and "not valid unicode" in message  # http: refused by the validator
        status, message = q.call(fn_index["ui_custom"], ["ab", None, None])  # 1-2 characters: was a ValidationError
        assert status in ("error", "http") and "too short" in message  # in place, or by the validator
        status, _, data = q.call_data(fn_index["ui_custom"], ["a lullaby for a sleepy kitten", None, None])
        assert status == "accepted" and "sleepy kitten" in json.dumps(data)
    finally:
        q.close()


def test_gallery_page_shows_no_server_path(app_server, fn_index, composed):
    q = QueueClient(app_server["url"], "10.9.8.6")
    try:
        status, _, data = q.call_data(fn_index["ui_gallery"], [])
    finally:
        q.close()
    html = json.dumps(data)
    assert status == "accepted" and composed["song_id"] in html
    assert str(app_server["data"]) not in html and "/gradio_api/file=" not in html
    thumb = httpx.get(app_server["url"] + f"media/{composed['song_id']}/thumb.png", timeout=30)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"


def test_private_files_are_not_served(app_server, composed):
    data = app_server["data"].resolve()
    song = data / "songs" / composed["song_id"]
    private = [data / "index.db", data / "index.db-wal", song / "song.json", data / "server.log",
               data / "songs" / ".work-x" / "song.mid", song / ".." / composed["song_id"] / "song.json"]
    for path in private:
        r = httpx.get(app_server["url"] + f"gradio_api/file={path}", timeout=30)
        assert r.status_code in (403, 404), path
    for path in (f"media/{composed['song_id']}/song.json", "media/../index.db", "media/x/song.ogg"):
        assert httpx.get(app_server["url"] + path, timeout=30).status_code == 404


def test_uploads_are_refused_even_huge_ones(app_server):
    for size in (10_000, 60_000_000):
        r = httpx.post(app_server["url"] + "gradio_api/upload", files={"files": ("a.bin", b"\0" * size)}, timeout=60)
        assert r.status_code == 403 and "no file uploads" in r.json()["detail"]


def test_unknown_events_and_private_names_are_404_not_500(app_server):
    base = app_server["url"] + "gradio_api/"
    r = httpx.post(base + "queue/join", json={"data": [], "fn_index": 999, "session_hash": "s"}, timeout=30)
    assert r.status_code == 404 and "No event" in r.json()["detail"]
    for route in ("call/nope", "call/ui_compose", "run/compose"):
        r = httpx.post(base + route, json={"data": ["x"]}, timeout=30)
        assert r.status_code == 404, route
    r = httpx.post(base + "call/v2/compose", json={"data": ["x"]}, timeout=30)
    assert r.status_code == 400 and "parameter" in r.json()["detail"]


def test_costly_calls_are_rate_limited_per_visitor(app_server, fn_index):
    q = QueueClient(app_server["url"], "10.66.66.66")
    try:
        results = [q.call(fn_index["ui_custom"], ["rain on the roof", None, None]) for _ in range(9)]
    finally:
        q.close()
    refused = [m for s, m in results if s == "error"]
    assert results[0][0] == "accepted" and refused, results
    assert all("please wait" in m for m in refused)


def test_a_ui_compose_links_media_through_the_media_route(app_server, fn_index):
    from kotone.assets import load_catalog
    from kotone.domain.cards import SLOTS

    cat = load_catalog()
    q = QueueClient(app_server["url"], "10.9.8.5")
    try:
        for slot in SLOTS:
            starter = next(c.id for c in cat.by_slot(slot) if c.id in cat.starter_ids())
            q.call(fn_index["ui_pick"], [f"{starter}#1", None, None])
        assert q.call(fn_index["ui_check_compose"], [None, None, None, True, "", None])[0] == "accepted"
        status, message, data = q.call_data(fn_index["ui_compose"], [None, None, None, None])
    finally:
        q.close()
    page = json.dumps(data)
    assert status == "accepted", message
    assert str(app_server["data"]) not in page and "gradio_api/file=" not in page
    urls = set(re.findall(r"media/[A-Za-z0-9_-]{16}/[a-z.0-9]+", page))
    assert any(u.endswith(".mid") for u in urls) and any(u.endswith((".ogg", ".mp3", ".wav")) for u in urls)
    for url in urls:
        assert httpx.get(app_server["url"] + url, timeout=30).status_code == 200, url

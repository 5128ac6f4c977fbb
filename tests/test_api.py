"""Launch the app on loopback and drive the named API endpoints with gradio_client."""

import pytest
from gradio_client import Client

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server["url"], verbose=False)


def song_dirs(app_server):
    return sorted(p.name for p in (app_server["data"] / "songs").iterdir() if not p.name.startswith("."))


def test_named_endpoints_exist(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/commissions", "/compose", "/song"} <= names


def test_commission_compose_song_roundtrip(client, app_server):
    commissions = client.predict(api_name="/commissions")
    assert len(commissions) >= 60
    c = commissions[0]
    song = client.predict(c["id"], "style_folk", "instrument_nylon", "mood_tender", "gimmick_rain", 42,
                          api_name="/compose")
    assert song["commission_id"] == c["id"]
    assert 0 <= song["score"]["total"] <= 100 and song["score"]["rank"] in "SABCD"
    assert len(song["score"]["coaching"]) == 4
    assert song["share"] == f"?song={song['song_id']}"
    again = client.predict(song["song_id"], api_name="/song")
    assert again["song_id"] == song["song_id"]
    assert again["score"] == song["score"] and again["measured"] == song["measured"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("c001", "style_nope", "instrument_nylon", "mood_tender", "gimmick_rain", 1), "unknown card id"),
        (("c001", "instrument_nylon", "instrument_nylon", "mood_tender", "gimmick_rain", 1), "not a style card"),
        (("c999", "style_folk", "instrument_nylon", "mood_tender", "gimmick_rain", 1), "unknown commission"),
        (("c001", "style_folk", "instrument_nylon", "mood_tender", "gimmick_rain", -3), "seed must be"),
        (("x" * 5000, "style_folk", "instrument_nylon", "mood_tender", "gimmick_rain", 1), "unknown commission"),
    ],
)
def test_bad_compose_input_is_refused_and_saves_nothing(client, app_server, args, message):
    before = song_dirs(app_server)
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name="/compose")
    assert song_dirs(app_server) == before


@pytest.mark.parametrize("forged", ["../../etc/passwd", "AAAAAAAAAAAAAAAA", "<img src=x>", ""])
def test_forged_song_ids_are_refused(client, forged):
    with pytest.raises(Exception, match="song"):
        client.predict(forged, api_name="/song")

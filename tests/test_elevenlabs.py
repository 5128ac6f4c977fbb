"""ElevenLabs: the composition plan (offline, checked with the SDK's own types) and the real
SDK client against a fake HTTP transport (httpx.MockTransport through the SDK's httpx_client):
the request it sends, every failure class, the cache, and the per-session key."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import socket
import time

import httpx
import pytest
from elevenlabs.types import MusicPrompt

import kotone.services.elevenlabs as el
from kotone.compose import main as compose_main
from kotone.domain.errors import InvalidInputError
from kotone.services.elevenlabs import ElevenLabsError, compose_music
from kotone.services.elevenlabs_plan import check_plan, composition_plan, plan_duration_ms
from kotone.store.gallery import Gallery
from kotone.studio import compose_and_save
from kotone.studio_elevenlabs import describe, plan_for_record, render_saved_song

CARDS = "style=style_folk,instrument=instrument_nylon,mood=mood_tender,gimmick=gimmick_rain"
CHOICE = dict(part.split("=") for part in CARDS.split(","))
SESSION_KEY = "sk_session_5f0c9e2a7b1d4c3e8f6a"
ENV_KEY = "sk_owner_9a8b7c6d5e4f3a2b1c0d"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 40


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One composed and saved song (SoundFont audio included) to copy from."""
    gallery = Gallery(tmp_path_factory.mktemp("el-template"))
    from kotone.assets import load_book

    commission = next(c for c in load_book().commissions.values() if c.tags.forbidden)
    done = compose_and_save(CHOICE, 11, commission, gallery)
    return gallery, done.entry.song_id, done.song


@pytest.fixture()
def saved(template, tmp_path):
    """A fresh gallery holding a copy of the template song (a new write-once folder)."""
    src_gallery, song_id, _ = template
    gallery = Gallery(tmp_path / "data")
    record = src_gallery.load(song_id)
    work = tmp_path / "copy"
    shutil.copytree(src_gallery.song_dir(song_id), work)
    files = {p.name: p for p in work.iterdir() if p.name != "song.json"}
    entry = gallery.save({k: v for k, v in record.items() if k not in ("song_id", "created", "files")}, files)
    return gallery, entry.song_id


@pytest.fixture()
def fake(monkeypatch):
    """Every render goes through the real SDK to this fake transport; ``fake.reply`` decides the answer."""

    class Fake:
        def __init__(self):
            self.requests: list[httpx.Request] = []
            self.reply = lambda req: httpx.Response(200, content=MP3,
                                                    headers={"character-cost": "1234", "request-id": "req-1"})

        def handle(self, request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return self.reply(request)

    f = Fake()
    monkeypatch.setattr(el, "new_http_client",
                        lambda timeout_s: httpx.Client(transport=httpx.MockTransport(f.handle), timeout=timeout_s))
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    return f


def snapshot(gallery: Gallery, song_id: str) -> dict[str, str]:
    folder = gallery.song_dir(song_id)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def no_key_anywhere(key: str, gallery: Gallery, caplog, *texts: str) -> None:
    assert all(key not in t for t in texts)
    assert key not in caplog.text
    for p in gallery.root.rglob("*"):
        if p.is_file():
            assert key.encode() not in p.read_bytes(), p


# ---------------------------------------------------------------- the plan (offline)


def check_bar(body: dict, duration_s: float) -> None:
    MusicPrompt.model_validate(body)  # the SDK's own schema accepts it
    assert set(body) == {"positive_global_styles", "negative_global_styles", "sections"}
    ms = [s["duration_ms"] for s in body["sections"]]
    assert all(3_000 <= d <= 120_000 for d in ms), ms
    assert abs(sum(ms) / 1000 - duration_s) <= 2.0
    assert all(s["lines"] == [] for s in body["sections"])


def test_plan_follows_the_song(template):
    gallery, song_id, song = template
    record = gallery.load(song_id)
    body = plan_for_record(record)
    check_bar(body, song.duration_s)
    assert abs(plan_duration_ms(body) - song.duration_s * 1000) <= 1  # rounded on one time line
    styles = body["positive_global_styles"]
    assert "instrumental" in styles and f"{round(song.plan.tempo_bpm)} bpm" in styles
    assert f"in {song.plan.key_name}" in styles and f"{song.plan.meter} time" in styles
    assert "nylon acoustic guitar lead" in styles and "tender mood" in styles and "soft rain ambience" in styles
    forbidden = record["commission"]["tags"]["forbidden"]
    assert set(forbidden) & set(body["negative_global_styles"]) or all(f in " ".join(styles) for f in forbidden)
    names = [s["section_name"].split(" + ")[0].split(" (")[0].split(" ")[0].lower() for s in body["sections"]]
    assert names[0] == song.plan.sections[0].section_type and names[-1] == song.plan.sections[-1].section_type


def test_cli_writes_the_plan_with_no_network_and_no_key(tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    out = tmp_path / "song"
    assert compose_main(["--cards", CARDS, "--seed", "3", "--out", str(out), "--wav", "--elevenlabs-plan"]) == 0
    body = json.loads((out / "elevenlabs_plan.json").read_text(encoding="utf-8"))
    song = json.loads((out / "song.json").read_text(encoding="utf-8"))
    check_bar(body, song["duration_s"])
    assert json.loads(capsys.readouterr().out)["elevenlabs_plan_ms"] == plan_duration_ms(body)


def test_cli_render_without_a_key_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    out = tmp_path / "song"
    assert compose_main(["--cards", CARDS, "--seed", "3", "--out", str(out), "--wav", "--audio", "elevenlabs"]) == 2
    assert "ELEVENLABS_API_KEY" in capsys.readouterr().err
    assert (out / "song.wav").is_file() and not (out / "elevenlabs.mp3").exists()


def test_cli_renders_with_a_key(tmp_path, fake, monkeypatch, capsys):
    monkeypatch.setenv("ELEVENLABS_API_KEY", ENV_KEY)
    out = tmp_path / "song"
    assert compose_main(["--cards", CARDS, "--seed", "3", "--out", str(out), "--wav", "--audio", "elevenlabs"]) == 0
    (req,) = fake.requests
    body = json.loads((out / "elevenlabs_plan.json").read_text(encoding="utf-8"))
    assert json.loads(req.content)["composition_plan"] == body and req.headers["xi-api-key"] == ENV_KEY
    assert (out / "elevenlabs.mp3").read_bytes() == MP3 and (out / "song.wav").is_file()
    printed = capsys.readouterr().out
    assert json.loads(printed)["elevenlabs"]["credits"] == 1234 and ENV_KEY not in printed


def plan_dict(bars, tempo=120.0, meter="4/4", **extra):
    kinds = ["intro", "verse", "chorus", "bridge", "outro"]
    sections, beat = [], 0.0
    for i, b in enumerate(bars):
        sections.append({"section_id": f"s{i}", "section_type": kinds[i % 5], "bars": b, "start_beat": beat,
                         "emotion": {"energy": 0.5, "valence": 0.0}, "new_field": [1, 2]})
        beat += b * {"4/4": 4, "3/4": 3, "6/8": 3}[meter]
    return {"tempo_bpm": tempo, "meter": meter, "key_name": "D dorian", "cards": {}, "form": "ABA",
            "sections": sections, "tracks": [{"role": "melody", "program": 73, "name": "Flute"}], **extra}


@pytest.mark.parametrize("bars, tempo, meter, n_sections", [
    ([1, 8, 8, 1], 180.0, "4/4", 2),  # 1.3 s intro and outro merge into their neighbours
    ([64, 4], 40.0, "3/4", 4),  # a 288 s verse splits into three parts
    ([2, 2, 2, 2, 2, 2], 200.0, "6/8", 3),  # 1.8 s sections pair up
])
def test_short_sections_merge_and_long_ones_split(bars, tempo, meter, n_sections):
    plan = plan_dict(bars, tempo, meter)
    body = composition_plan(plan, None)
    total_s = sum(bars) * {"4/4": 4, "3/4": 3, "6/8": 3}[meter] * 60 / tempo
    check_bar(body, total_s)
    assert plan_duration_ms(body) == round(total_s * 1000)
    assert len(body["sections"]) == n_sections


def test_a_song_too_short_for_the_service_is_refused():
    with pytest.raises(InvalidInputError, match="3-600 s"):
        composition_plan(plan_dict([1], 200.0), None)


@pytest.mark.parametrize("change, message", [
    (lambda b: b["sections"][0].update(duration_ms=2_000), "3000-120000"),
    (lambda b: b["sections"][0].update(duration_ms="long"), "MusicPrompt"),
    (lambda b: b["sections"][0].update(section_name="x" * 101), "1-100"),
    (lambda b: b.update(global_style=["x"]), "does not know"),
    (lambda b: b["sections"][0].update(lines=["la"] * 31), "30 lines"),
])
def test_plan_check_names_what_is_wrong(change, message):
    body = composition_plan(plan_dict([8, 8]), None)
    change(body)
    with pytest.raises(InvalidInputError, match=message):
        check_plan(body)


# ---------------------------------------------------------------- the SDK against a fake transport


def test_render_sends_the_plan_saves_once_and_shows_cost(saved, fake, caplog):
    caplog.set_level(logging.DEBUG)
    gallery, song_id = saved
    before = snapshot(gallery, song_id)
    render = render_saved_song(song_id, gallery, SESSION_KEY)
    (req,) = fake.requests
    assert req.method == "POST" and req.url.path == "/v1/music"
    assert req.url.params["output_format"] == "mp3_44100_128"
    assert req.headers["xi-api-key"] == SESSION_KEY
    sent = json.loads(req.content)
    assert sent == {"composition_plan": plan_for_record(gallery.load(song_id)), "model_id": "music_v1",
                    "respect_sections_durations": True}
    assert render.audio.read_bytes() == MP3 and render.meta["credits"] == 1234
    after = snapshot(gallery, song_id)
    assert {k: v for k, v in after.items() if k in before} == before  # the SoundFont render is untouched
    assert set(after) - set(before) == {"elevenlabs.mp3", "elevenlabs.json"}
    text = describe(render)
    assert "1,234 credits" in text and f"{plan_duration_ms(sent['composition_plan']) / 1000:.1f} s" in text
    again = render_saved_song(song_id, gallery, SESSION_KEY)  # one call per song: answered from the saved files
    assert again.cached and len(fake.requests) == 1 and "no new charge" in describe(again)
    no_key_anywhere(SESSION_KEY, gallery, caplog, text, json.dumps(render.meta))


def suggestion_body(word, data):
    return {"detail": {"status": word, "message": "The plan names copyrighted material.", "data": data}}


FAILURES = {
    "bad_prompt": (lambda r: httpx.Response(400, json=suggestion_body(
        "bad_prompt", {"prompt_suggestion": "a gentle acoustic folk song with rain"})), "a gentle acoustic folk song"),
    "bad_composition_plan": (lambda r: httpx.Response(400, json=suggestion_body(
        "bad_composition_plan", {"composition_plan_suggestion": {"positive_global_styles": ["warm folk"],
                                                                 "sections": []}})), "styles: warm folk"),
    "unauthorized": (lambda r: httpx.Response(401, json={"detail": {
        "status": "invalid_api_key", "message": f"Invalid API key {r.headers['xi-api-key']}"}}), "401"),
    "quota": (lambda r: httpx.Response(402, json={"detail": {"status": "payment_required",
                                                              "message": "not enough credits"}}), "no credits left"),
    "rate_limited": (lambda r: httpx.Response(429, json={"detail": {
        "status": "too_many_concurrent_requests", "message": "busy"}}), "Try again in a minute"),
    "timeout": (lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("read timed out", request=r)), "did not finish"),
    "network": (lambda r: (_ for _ in ()).throw(httpx.ConnectError("[Errno -3] name resolution", request=r)),
                "Could not reach ElevenLabs"),
    "service": (lambda r: httpx.Response(503, text="upstream down"), "HTTP 503"),
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_each_failure_is_clear_saves_nothing_and_never_shows_the_key(kind, saved, fake, caplog):
    caplog.set_level(logging.DEBUG)
    gallery, song_id = saved
    before = snapshot(gallery, song_id)
    fake.reply, expected = FAILURES[kind]
    with pytest.raises(ElevenLabsError) as info:
        render_saved_song(song_id, gallery, SESSION_KEY)
    err = info.value
    assert err.kind == kind and expected in str(err) and "Nothing was saved" in str(err)
    if kind.startswith("bad_"):
        assert err.suggestion and err.suggestion in str(err)
    assert snapshot(gallery, song_id) == before  # nothing saved, the SoundFont audio untouched
    no_key_anywhere(SESSION_KEY, gallery, caplog, str(err), repr(err.args))


def test_a_stalled_download_is_cut_at_the_deadline(saved, fake):
    class Trickle(httpx.SyncByteStream):
        def __iter__(self):
            for _ in range(50):
                time.sleep(0.1)
                yield b"x" * 1024

    gallery, song_id = saved
    fake.reply = lambda r: httpx.Response(200, stream=Trickle())
    t0 = time.monotonic()
    with pytest.raises(ElevenLabsError) as info:
        render_saved_song(song_id, gallery, SESSION_KEY, timeout_s=0.5)
    assert info.value.kind == "timeout" and time.monotonic() - t0 < 3
    assert not gallery.song_dir(song_id).joinpath("elevenlabs.mp3").exists()


def test_without_any_key_the_button_explains_and_calls_nothing(saved, fake):
    gallery, song_id = saved
    with pytest.raises(ElevenLabsError) as info:
        render_saved_song(song_id, gallery, "")
    assert info.value.kind == "no_key" and "ELEVENLABS_API_KEY" in str(info.value) and "API key" in str(info.value)
    assert fake.requests == []


def test_the_session_key_wins_over_the_owners_and_stays_out_of_everything(saved, fake, monkeypatch, caplog):
    import app_elevenlabs

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ELEVENLABS_API_KEY", ENV_KEY)
    gallery, song_id = saved
    audio, status = app_elevenlabs.ui_render(song_id, f"  {SESSION_KEY} ", gallery)
    assert fake.requests[0].headers["xi-api-key"] == SESSION_KEY
    assert audio.endswith("elevenlabs.mp3") and "credits" in status
    no_key_anywhere(SESSION_KEY, gallery, caplog, audio, status)
    no_key_anywhere(ENV_KEY, gallery, caplog, audio, status)


def test_the_owners_key_is_used_when_the_visitor_gives_none(saved, fake, monkeypatch):
    monkeypatch.setenv("ELEVENLABS_API_KEY", ENV_KEY)
    gallery, song_id = saved
    render_saved_song(song_id, gallery, None)
    assert fake.requests[0].headers["xi-api-key"] == ENV_KEY


def test_ui_shows_failures_in_the_block_and_refuses_odd_keys(saved, fake, caplog):
    import app_elevenlabs

    gallery, song_id = saved
    fake.reply = FAILURES["unauthorized"][0]
    audio, status = app_elevenlabs.ui_render(song_id, SESSION_KEY, gallery)
    assert status.startswith("⚠️") and "401" in status and SESSION_KEY not in status
    assert not isinstance(audio, str)  # the ElevenLabs player is left as it was; the SoundFont one is not an output
    odd = "not a key with spaces in it at all"
    _, status = app_elevenlabs.ui_render(song_id, odd, gallery)
    assert "does not look like" in status and odd not in status
    assert app_elevenlabs.ui_render(None, SESSION_KEY, gallery)[1] == "Compose or open a song first."
    assert app_elevenlabs.ui_render("../../etc/passwd", SESSION_KEY, gallery)[1].startswith("⚠️")
    assert len(fake.requests) == 1


def test_a_plan_the_sdk_rejects_is_never_sent(fake):
    body = composition_plan(plan_dict([8, 8]), None)
    body["sections"][0]["duration_ms"] = 500
    with pytest.raises(InvalidInputError):
        compose_music(body, SESSION_KEY)
    assert fake.requests == []


def test_a_service_that_trickles_bytes_is_cut_by_the_watchdog(saved, monkeypatch):
    """A real socket on loopback: one byte every 0.2 s never trips the per-read time-out, so
    only the watchdog over the whole call can end it."""
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve():
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: 100000\r\n\r\n")
        try:
            for _ in range(40):
                conn.sendall(b"x")
                time.sleep(0.2)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=serve, daemon=True).start()

    class ToLoopback(httpx.BaseTransport):
        def __init__(self):
            self.inner = httpx.HTTPTransport()

        def handle_request(self, request):
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=port)
            return self.inner.handle_request(request)

    monkeypatch.setattr(el, "new_http_client",
                        lambda timeout_s: httpx.Client(transport=ToLoopback(), timeout=timeout_s))
    gallery, song_id = saved
    t0 = time.monotonic()
    with pytest.raises(ElevenLabsError) as info:
        render_saved_song(song_id, gallery, SESSION_KEY, timeout_s=1.0)
    assert info.value.kind == "timeout" and time.monotonic() - t0 < 2.5
    assert not gallery.song_dir(song_id).joinpath("elevenlabs.mp3").exists()
    server.close()

"""The web edge on its own: rate limits, input checks, the HTTP guard, the error policy."""

import json
import logging
import math

import gradio as gr
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from kotone.domain.errors import CapacityError, InvalidInputError, KotoneError, RenderError
from kotone.store.gallery import Gallery
from kotone.studio import custom_commission
from kotone.web.edge import clean_message, costly_edge, edge
from kotone.web.guard import BUSY_MESSAGE, WebGuard, api_name_of, parse_size
from kotone.web.inputs import check_json, check_payload, parse_number
from kotone.web.limits import RateLimiter


def test_rate_limiter_allows_a_burst_then_refills():
    lim = RateLimiter(per_minute=60, burst=3)
    assert [lim.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert lim.take("a", now=0.0) == pytest.approx(1.0)
    assert lim.take("b", now=0.0) == 0.0  # per key
    assert lim.take("a", now=1.0) == 0.0
    lim.refund("a")
    assert lim.take("a", now=1.0) == 0.0


def test_visitor_is_the_address_the_outermost_trusted_proxy_saw():
    from kotone.web.limits import visitor_address

    assert visitor_address(None, "127.0.0.1", 0) == "127.0.0.1"
    assert visitor_address("6.6.6.6", "10.0.0.2", 0) == "10.0.0.2"  # no proxy trusted: the header is ignored
    assert visitor_address("6.6.6.6, 1.2.3.4", "10.0.0.2", 1) == "1.2.3.4"  # a forged first entry does not count
    assert visitor_address("1.2.3.4", "10.0.0.2", 2) == "1.2.3.4"
    assert visitor_address(None, None, 1) == "local"


def test_rate_limiter_memory_stays_bounded():
    lim = RateLimiter(per_minute=60, burst=2, max_keys=100)
    for i in range(1000):
        lim.take(f"v{i}", now=float(i))
    assert len(lim._buckets) <= 100


@pytest.mark.parametrize(("value", "expected"), [("7", 7), (" 12 ", 12), ("", None), (None, None), (3.5, 3.5),
                                                 ("2.5", 2.5), (0, 0)])
def test_numbers_from_text_are_read(value, expected):
    assert parse_number("seed", value) == expected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "NaN", "Infinity", "seven", True, [7], {"a": 1},
                                   "0x10", "1e999"])
def test_bad_numbers_get_a_clear_error(value):
    with pytest.raises(InvalidInputError, match="seed: expected"):
        parse_number("seed", value)


def test_number_bounds_are_checked_before_gradio():
    seed = gr.Number(label="Seed", minimum=0, precision=0, render=False)
    assert check_payload(seed, "3") == 3
    with pytest.raises(InvalidInputError, match="Seed: must be at least 0, got -1"):
        check_payload(seed, -1)


def test_text_inputs_are_checked():
    box = gr.Textbox(label="Your request", max_length=10, render=False)
    assert check_payload(box, "hello") == "hello"
    for bad, msg in [("x" * 11, "too long"), ("a\ud800b", "not valid unicode"), ("a\x00", "control"),
                     ({"a": 1}, "expected text"), (True, "expected text")]:
        with pytest.raises(InvalidInputError, match=msg):
            check_payload(box, bad)


def test_choices_must_be_offered():
    radio = gr.Radio(label="Style", choices=[("Folk", "style_folk")], render=False)
    assert check_payload(radio, "style_folk") == "style_folk" and check_payload(radio, None) is None
    with pytest.raises(InvalidInputError, match="not one of the 1 choices"):
        check_payload(radio, "style_nope")
    with pytest.raises(InvalidInputError, match="nothing to choose from"):
        check_payload(gr.Radio(label="Empty", choices=[], render=False), "x")


def test_json_inputs_are_bounded():
    check_json("progress", {"coins": 5, "unlocked": ["style_folk"]})
    deep: dict = {}
    node = deep
    for _ in range(20):
        node["a"] = {}
        node = node["a"]
    for bad in [deep, list(range(10_000)), {"coins": math.nan}, {"\ud800": 1}]:
        with pytest.raises(InvalidInputError, match="progress"):
            check_json("progress", bad)


def test_messages_are_safe_to_show_and_serialize():
    msg = clean_message("bad <img src=x onerror=alert(1)> \ud800\n" + "x" * 1000)
    json.dumps(msg).encode("utf-8")  # no lone surrogate left
    assert "<img" not in msg and "\n" not in msg and len(msg) <= 300


def test_player_mistakes_log_one_line_and_no_traceback(caplog):
    @edge
    def handler(x):
        raise InvalidInputError(f"unknown card id {x!r}")

    with caplog.at_level(logging.INFO, logger="kotone.web"), pytest.raises(gr.Error) as err:
        handler("style_\ud800")
    assert err.value.print_exception is False and "unknown card id" in err.value.message
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is None


def test_real_faults_are_not_dressed_as_player_errors():
    @edge
    def handler():
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        handler()


def test_costly_handlers_are_rate_limited_and_refund_cheap_refusals(tmp_path):
    lim = RateLimiter(per_minute=1, burst=2)
    gallery = Gallery(tmp_path / "data")
    calls = []

    @costly_edge(lim, gallery.check_capacity)
    def compose(ok: bool):
        calls.append(ok)
        if not ok:
            raise InvalidInputError("unknown card id")
        return "song"

    for _ in range(5):  # refused for bad input: the token comes back
        with pytest.raises(gr.Error, match="unknown card"):
            compose(False)
    assert compose(True) == "song" and compose(True) == "song"
    with pytest.raises(gr.Error, match="please wait"):
        compose(True)
    assert calls.count(True) == 2
    assert compose.kotone_costly is True


def test_costly_handlers_refuse_early_when_the_disk_is_full(tmp_path):
    gallery = Gallery(tmp_path / "data", min_free_mb=1e12)

    @costly_edge(None, gallery.check_capacity)
    def compose():
        raise AssertionError("must not run")

    with pytest.raises(gr.Error, match="shelf space"):
        compose()


def test_a_failed_render_keeps_its_token():
    lim = RateLimiter(per_minute=1, burst=1)

    @costly_edge(lim)
    def compose():
        raise RenderError("audio render ran past its bound")

    with pytest.raises(gr.Error, match="audio render"):
        compose()
    with pytest.raises(gr.Error, match="please wait"):
        compose()


def test_short_own_request_is_a_clear_game_error():
    for text in ("a", "ab", "  ab  "):
        with pytest.raises(InvalidInputError, match="too short"):
            custom_commission(text)
    with pytest.raises(InvalidInputError, match="empty"):
        custom_commission("   ")


def test_api_names_and_sizes():
    assert api_name_of("/gradio_api/call/compose") == "compose"
    assert api_name_of("/gradio_api/call/v2/song") == "song"
    assert api_name_of("/gradio_api/call/compose/abc123") == "compose"
    assert api_name_of("/gradio_api/queue/join") is None
    assert parse_size("1mb") == 1_000_000 and parse_size("500kb") == 500_000 and parse_size("12") == 12


@pytest.fixture()
def guarded(tmp_path):
    gallery = Gallery(tmp_path / "data")
    song = gallery.songs_dir / "AbCdEfGhIjKlMnOp"
    song.mkdir()
    (song / "song.json").write_text("{}")
    (song / "thumb.png").write_bytes(b"\x89PNG")

    async def file_route(request):
        return PlainTextResponse("served " + request.path_params["p"])

    async def busy(request):
        return JSONResponse({"detail": "Queue is full. Max size is 1 and size is 1."}, status_code=503)

    async def echo(request):
        return JSONResponse({"n": len(await request.body())})

    app = Starlette(routes=[Route("/gradio_api/file={p:path}", file_route),
                            Route("/gradio_api/queue/join", busy, methods=["POST"]),
                            Route("/gradio_api/echo", echo, methods=["POST"])])
    guard = WebGuard(app, data_root=gallery.root, limiter=RateLimiter(0.6, 5), max_body_bytes=1000,
                     max_upload_bytes=1000)
    return TestClient(guard), gallery


def test_guard_serves_only_media_from_the_data_folder(guarded):
    client, gallery = guarded
    root = gallery.root.resolve()
    assert client.get("/media/AbCdEfGhIjKlMnOp/thumb.png").content == b"\x89PNG"
    assert client.get("/media/AbCdEfGhIjKlMnOp/song.json").status_code == 404
    assert client.get(f"/gradio_api/file={root}/songs/AbCdEfGhIjKlMnOp/thumb.png").status_code == 200
    for private in (f"{root}/index.db", f"{root}/songs/AbCdEfGhIjKlMnOp/song.json",
                    f"{root}/songs/AbCdEfGhIjKlMnOp/../AbCdEfGhIjKlMnOp/song.json", f"{root}/songs/.work-1/a.mid"):
        assert client.get(f"/gradio_api/file={private}").status_code == 404, private
    assert client.get("/gradio_api/file=/elsewhere/x.png").text == "served /elsewhere/x.png"


def test_guard_bounds_bodies_floods_and_rewrites_busy(guarded):
    client, _ = guarded
    assert client.post("/gradio_api/echo", content=b"x" * 999).json() == {"n": 999}
    assert client.post("/gradio_api/echo", content=b"x" * 5000).status_code == 413
    chunked = client.post("/gradio_api/echo", content=iter([b"x" * 600, b"x" * 600]))
    assert chunked.status_code == 413
    assert client.post("/gradio_api/upload", files={"files": ("a", b"a")}).status_code == 403
    r = client.post("/gradio_api/echo", content=b"x")  # the 5th call from one visitor in a burst of 5
    assert r.status_code == 200
    r = client.post("/gradio_api/echo", content=b"x")
    assert r.status_code == 429 and "wait" in r.json()["detail"] and int(r.headers["retry-after"]) >= 1


def test_guard_turns_a_full_queue_into_the_busy_message(tmp_path):
    async def full(request):
        return JSONResponse({"detail": "Queue is full. Max size is 1 and size is 1."}, status_code=503)

    app = Starlette(routes=[Route("/gradio_api/queue/join", full, methods=["POST"])])
    client = TestClient(WebGuard(app, data_root=tmp_path, limiter=None, max_body_bytes=1000, max_upload_bytes=1))
    r = client.post("/gradio_api/queue/join", json={"data": []})
    assert r.status_code == 503 and r.json() == {"detail": BUSY_MESSAGE}


def test_server_limits_follow_the_cores(monkeypatch):
    from kotone.web.limits import ServerLimits

    monkeypatch.delenv("KOTONE_WORKERS", raising=False)
    assert ServerLimits.from_env().workers >= 1
    monkeypatch.setenv("KOTONE_WORKERS", "3")
    monkeypatch.setenv("KOTONE_QUEUE_MAX", "nonsense")
    limits = ServerLimits.from_env()
    assert limits.workers == 3 and limits.queue_max == 64 and not limits.allow_uploads


def test_capacity_errors_belong_to_the_game_error_family():
    assert issubclass(CapacityError, KotoneError)


def test_prepare_bounds_the_app_and_groups_the_costly_events(tmp_path, monkeypatch):
    from kotone.web.limits import ServerLimits
    from kotone.web.server import COMPOSE_GROUP, STATUS_UPDATE_S, prepare

    monkeypatch.setenv("KOTONE_WORKERS", "2")
    monkeypatch.setenv("KOTONE_QUEUE_MAX", "9")
    gallery = Gallery(tmp_path / "data")
    (gallery.songs_dir / ".work-left-by-a-crash").mkdir()

    @costly_edge(None)
    def compose(x):
        return x

    @edge
    def look(x):
        return x

    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button().click(compose, box, out)
        gr.Button().click(look, box, out)
    options = prepare(demo, gallery, ServerLimits.from_env())
    fns = {f.name: f for f in demo.fns.values()}
    assert fns["compose"].concurrency_id == COMPOSE_GROUP and fns["compose"].concurrency_limit == 2
    assert fns["look"].concurrency_id != COMPOSE_GROUP
    assert demo._queue.max_size == 9 and demo.api_open is False and demo.delete_cache == (3600, 3600)
    # queue positions on a timer, not to every waiting visitor each time a song starts (O(n^2))
    assert demo._queue.live_updates is False and demo._queue.update_intervals == STATUS_UPDATE_S
    assert options["allowed_paths"] == [] and options["show_error"] is False  # data under the temp folder
    assert options["app_kwargs"]["middleware"][0].cls is WebGuard
    assert not list(gallery.songs_dir.iterdir())  # start-up recovery ran


def test_a_compose_worker_runs_blas_on_one_thread():
    import subprocess
    import sys

    code = ("import os; from kotone.web.workers import _start_worker; _start_worker(os.getppid()); "
            "from threadpoolctl import threadpool_info; "
            "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[1]"

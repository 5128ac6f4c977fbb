"""Secrets planted in the server's environment never appear in a response, a log line or a
stored file (data folder and Gradio's cache, when the UI leaves copies there)."""

import json

import httpx
import pytest
from gradio_client import Client

from eval.fuzz import QueueClient, fuzz
from eval.serve import served_app
from kotone.assets import load_catalog
from kotone.domain.cards import SLOTS
from tests.conftest import free_port

pytestmark = pytest.mark.browser
SECRETS = {
    "HF_TOKEN": "hf_PLANTEDfakeTOKEN0123456789abcdef",
    "MISTRAL_API_KEY": "mistral-PLANTED-fake-key-9f8e7d6c",
    "ELEVENLABS_API_KEY": "sk_PLANTED_fake_elevenlabs_4b3a2c1d",
    "WANDB_API_KEY": "PLANTEDfakewandbkey0123456789abcdef0123",
    "KOTONE_HUB_DATASET": "someone/PLANTED-private-dataset",
}


def test_no_planted_secret_leaks(tmp_path):
    cache = tmp_path / "gradio-cache"
    env = {**SECRETS, "GRADIO_TEMP_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
    seen: list[str] = []
    with served_app(free_port(), env=env, data=tmp_path / "data") as app:
        for path in ("", "config", "gradio_api/info", "gradio_api/info?all_endpoints=true"):
            seen.append(httpx.get(app.url + path, timeout=30).text)
        client = Client(app.url, verbose=False)
        song = client.predict("c001", "style_folk", "instrument_nylon", "mood_tender", "gimmick_rain", 3,
                              api_name="/compose")
        seen += [json.dumps(song), json.dumps(client.predict(song["song_id"], api_name="/song"))]
        for args in [("c001", "style_nope", "instrument_nylon", "mood_tender", "gimmick_rain", 3), ("", "", "", "", "", "")]:
            with pytest.raises(Exception) as err:
                client.predict(*args, api_name="/compose")
            seen.append(str(err.value))
        config = httpx.get(app.url + "config", timeout=30).json()
        fn = {d["api_name"]: d["id"] for d in config["dependencies"]}
        q = QueueClient(app.url, "10.3.3.3")
        for d in config["dependencies"]:
            seen.append(repr(q.call_data(d["id"], [None] * len(d["inputs"]))))
        cat = load_catalog()
        for slot in SLOTS:  # the UI's own flow: pick four cards, check, compose
            starter = next(c.id for c in cat.by_slot(slot) if c.id in cat.starter_ids())
            seen.append(repr(q.call_data(fn["ui_pick"], [f"{starter}#1", None, None])))
        status, message, data = q.call_data(fn["ui_check_compose"], [None, None, None, True, "", None])
        assert status == "accepted" and "Composing" in json.dumps(data), (status, message, data)
        status, message, data = q.call_data(fn["ui_compose"], [None, None, None, None])
        assert status == "accepted" and "is in the Studio" in json.dumps(data), (status, message)
        seen.append(json.dumps(data))
        q.close()
        seen.append(repr(fuzz(app.url, app.data, app.log, calls=60, seed=7).outcomes))
        files = [p for p in [*app.data.rglob("*"), *cache.rglob("*"), app.log] if p.is_file()]
        stored = {p: p.read_bytes() for p in files}
    assert sum(p.name == "song.json" for p in stored) >= 2  # the API's song and the UI's
    for name, value in SECRETS.items():
        assert not [s for s in seen if value in s], f"{name} in a response"
        assert not [p for p, b in stored.items() if value.encode() in b], f"{name} in a stored file or log"

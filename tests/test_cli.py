"""The SPEC §6 command-line contracts, run as a user would."""

import json
import subprocess
import sys
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, input=stdin, capture_output=True, text=True,
                          timeout=120)


def test_cards_list():
    out = run("kotone.cards", "--list")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) >= 40
    assert {r["slot"] for r in rows} == {"style", "instrument", "mood", "gimmick"}
    assert all(set(r["profile"]) == {"energy", "warmth", "brightness", "acousticness", "complexity", "nostalgia"}
               for r in rows)


def test_compose_writes_song_files(tmp_path):
    out = run("kotone.compose", "--cards",
              "style=style_matsuri,instrument=instrument_koto,mood=mood_festive,gimmick=gimmick_key_change",
              "--seed", "8", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    files = {p.name for p in tmp_path.iterdir()}
    assert {"song.mid", "song.json", "roll.png"} <= files
    audio = tmp_path / next(n for n in ("song.mp3", "song.ogg", "song.wav") if n in files)
    data = json.loads((tmp_path / "song.json").read_text())
    assert set(data["measured"]) == {"energy", "warmth", "brightness", "acousticness", "complexity", "nostalgia"}
    assert data["plan"]["sections"] and data["timings_ms"]["plan"] >= 0
    info = sf.info(str(audio))
    assert 30 <= data["duration_s"] <= 60
    assert abs(info.duration - data["duration_s"]) <= 1.5
    assert sum(1 for i in data["instruments"] if i["notes"]) >= 3


def test_compose_rejects_bad_cards(tmp_path):
    out = run("kotone.compose", "--cards", "style=style_nope,instrument=instrument_koto,mood=mood_festive,"
              "gimmick=gimmick_echo", "--seed", "1", "--out", str(tmp_path / "x"))
    assert out.returncode == 2
    assert "unknown card id 'style_nope'" in out.stderr
    assert not (tmp_path / "x").exists()
    out = run("kotone.compose", "--cards", "style=instrument_koto,instrument=instrument_koto,mood=mood_festive,"
              "gimmick=gimmick_echo", "--seed", "1", "--out", str(tmp_path / "y"))
    assert out.returncode == 2 and "not a style card" in out.stderr


def test_interpret_contract():
    lines = "\n".join([
        json.dumps({"id": "a", "text": "a slow, soft lullaby on a music box for my grandmother"}),
        json.dumps({"id": "b", "text": "explosive electronic dance music for a rave, loud and fast!"}),
        json.dumps({"id": "c", "text": ""}),
        "this is not json",
    ]) + "\n"
    out = run("kotone.interpret", stdin=lines)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    good = {r["id"]: r for r in rows if "params" in r}
    assert set(good) == {"a", "b"}
    for r in good.values():
        assert set(r["params"]) == {"energy", "warmth", "brightness", "acousticness", "complexity", "nostalgia"}
        assert r["backend"] and r["latency_ms"] >= 0
    assert good["b"]["params"]["energy"] > good["a"]["params"]["energy"] + 20
    assert good["a"]["params"]["acousticness"] > good["b"]["params"]["acousticness"] + 20
    errors = [r for r in rows if "error" in r]
    assert len(errors) == 2

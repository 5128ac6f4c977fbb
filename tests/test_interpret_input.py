"""Bad request text: a clear KotoneError, no raw surrogate in the message, nothing changed.

Covers the check itself, every backend wrapper, the CLI stream, and the app's own-request
path (studio.custom_commission and app.ui_custom, which had raised an unlabelled pydantic
ValidationError for a 2-character request).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kotone.domain.errors import InvalidInputError, KotoneError
from kotone.interpret.base import MAX_TEXT_CHARS, check_text

ROOT = Path(__file__).resolve().parents[1]

BAD = {
    "empty": ("", "empty"),
    "whitespace": (" \t\n\u3000 ", "only whitespace"),
    "one_char": ("a", "too short"),
    "two_chars": ("hi", "too short"),
    "short_after_collapse": ("  o\n\n\u00a0k ", "too short"),
    "over_long": ("la " * 400, "limit"),
    "control_char": ("a quiet song\x07 for the bell", "control character (U+0007)"),
    "nul": ("lullaby\x00please", "control character (U+0000)"),
    "c1_control": ("soft rain \x85 at night", "control character (U+0085)"),
    "lone_high_surrogate": ("a song for \ud83d my cat", "unpaired surrogate (U+D83D)"),
    "lone_low_surrogate": ("\udc80\udc81 broken bytes", "unpaired surrogate (U+DC80)"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_text_is_refused_with_a_clear_message(name):
    text, words = BAD[name]
    with pytest.raises(InvalidInputError) as info:
        check_text(text)
    msg = str(info.value)
    assert words in msg
    msg.encode("utf-8")  # printable: no unpaired surrogate echoed back
    assert isinstance(info.value, KotoneError)


def test_non_string_is_refused():
    with pytest.raises(InvalidInputError, match="must be a string"):
        check_text(None)


@pytest.mark.parametrize("text", ["joy", "a lullaby for a kitten 🐱", "Lied für Oma — leise, bitte",
                                  "tab\tand\nnewline are whitespace", "x" * MAX_TEXT_CHARS])
def test_good_text_passes_and_whitespace_collapses(text):
    out = check_text(text)
    assert out == " ".join(text.split())


@pytest.mark.parametrize("backend", ["rule", "embed"])
@pytest.mark.parametrize("name", ["whitespace", "two_chars", "lone_high_surrogate", "control_char"])
def test_backends_refuse_bad_text(backend, name):
    from kotone.interpret import backends  # noqa: F401
    from kotone.interpret.base import available, get_interpreter

    if backend not in available():
        pytest.skip(f"{backend} not available")
    with pytest.raises(InvalidInputError):
        get_interpreter(backend).interpret(BAD[name][0])


def test_cli_gives_one_clear_error_per_bad_line_and_goes_on():
    lines = [json.dumps({"id": name, "text": BAD[name][0]}) for name in sorted(BAD)]
    lines.append(json.dumps({"id": "ok", "text": "a cozy song for the first snow"}))
    lines.append(json.dumps({"id": "\ud800", "text": "an id that is not valid Unicode"}))
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    raw += b'{"id": "bytes", "text": "caf\xe9 music, not utf-8"}\n'  # latin-1 byte on the wire
    proc = subprocess.run([sys.executable, "-m", "kotone.interpret", "--backend", "rule"], input=raw,
                          capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    out = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert len(out) == len(BAD) + 3
    by_id = {o["id"]: o for o in out}
    for name, (_, words) in BAD.items():
        assert words in by_id[name]["error"], (name, by_id[name])
        assert "params" not in by_id[name]
    assert "params" in by_id["ok"]
    assert "params" in by_id["\ud800"]  # the id is echoed as a JSON escape, the text was fine
    assert "unpaired surrogate" in by_id["bytes"]["error"]


@pytest.mark.parametrize("name", ["empty", "whitespace", "two_chars", "over_long", "control_char",
                                  "lone_high_surrogate"])
def test_own_request_is_refused_before_anything_happens(name, monkeypatch):
    from kotone import studio

    calls = []
    monkeypatch.setattr(studio, "interpret_request", lambda text, backend=None: calls.append(text))
    with pytest.raises(InvalidInputError) as info:
        studio.custom_commission(BAD[name][0])
    str(info.value).encode("utf-8")
    assert calls == []  # the interpreter was never asked


def test_app_own_request_path_shows_bad_text_in_place_and_changes_nothing():
    gr = pytest.importorskip("gradio")
    import app

    extra = {"custom-abc": {"id": "custom-abc"}}
    before = json.dumps(extra, sort_keys=True)
    for bad, why in (("hi", "too short"), ("song \udfff", "unpaired surrogate")):
        checked = app.check_custom(bad, extra, None)
        assert checked[0].get("is_valid") is False and why in checked[0].get("message", "")
        out = app.ui_custom(bad, extra, None)
        assert all(isinstance(o, type(gr.skip())) for i, o in enumerate(out) if i != 4)
        assert why in out[4] and "\udfff" not in out[4]
    assert json.dumps(extra, sort_keys=True) == before
    good = app.ui_custom("a warm song for the bakery at dawn", extra, None)
    assert any(k.startswith("custom-") and k != "custom-abc" for k in good[0])

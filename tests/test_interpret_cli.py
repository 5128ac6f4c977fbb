import json
import subprocess
import sys
from pathlib import Path

from kotone.domain.params import DIMS

ROOT = Path(__file__).resolve().parents[1]


def run_cli(stdin: str, *args: str) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "kotone.interpret", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_contract_and_bad_lines_do_not_stop_the_stream():
    lines = [
        json.dumps({"id": "a", "text": "a frantic explosive rave"}),
        "this is not json",
        json.dumps({"id": "b"}),
        json.dumps({"id": "c", "text": "   "}),
        json.dumps({"id": "d", "text": "x" * 1200}),
        json.dumps([1, 2]),
        json.dumps({"id": 7, "text": "a quiet lullaby"}),
    ]
    out = run_cli("\n".join(lines) + "\n", "--backend", "rule")
    assert len(out) == 7
    a, bad_json, no_text, empty, big, arr, g = out
    assert a["id"] == "a" and a["backend"] == "rule" and set(a["params"]) == set(DIMS)
    assert a["params"]["energy"] > 70 and a["latency_ms"] >= 0
    assert "error" in bad_json and bad_json["id"] is None
    assert no_text["id"] == "b" and "text" in no_text["error"]
    assert empty["id"] == "c" and "empty" in empty["error"]
    assert big["id"] == "d" and "limit" in big["error"]
    assert "error" in arr
    assert g["id"] == 7 and g["params"]["energy"] < 40


def test_default_backend_answers():
    out = run_cli(json.dumps({"id": 1, "text": "cozy rainy afternoon"}) + "\n")
    assert out[0]["backend"] in {"rule", "embed"}
    assert all(0 <= out[0]["params"][d] <= 100 for d in DIMS)


def test_unknown_backend_is_a_clear_error():
    proc = subprocess.run([sys.executable, "-m", "kotone.interpret", "--backend", "nope"], input="",
                          text=True, capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "nope" in proc.stderr

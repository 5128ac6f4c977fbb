import json

import numpy as np

from kotone.domain.params import DIMS
from kotone.interpret.api import MistralInterpreter
from training.cycle import mine, targeted_rows
from training.teacher_mistral import generate as teacher_generate
from training.train_embed import predict, stack


def _row(i, **dims):
    p = dict.fromkeys(DIMS, 50)
    p.update(dims)
    return {"id": f"r{i}", "text": f"request number {i}", "params": p, "justification": "x", "source": "hand"}


def test_mine_picks_the_worst_rows_per_dim():
    rows = [_row(0), _row(1, energy=90), _row(2, warmth=10)]
    P = np.full((3, 6), 50.0)
    cases = mine(P, rows, per_dim=1)
    by = {c["dim"]: c for c in cases}
    assert len(cases) == 6
    assert by["energy"]["id"] == "r1" and by["energy"]["gold"] == 90
    assert by["warmth"]["id"] == "r2" and by["warmth"]["gold"] == 10


def test_targeted_rows_match_the_weak_side():
    cases = [{"dim": "energy", "gold": 15.0, "pred": 60.0, "text": "a silent snowy night", "id": "x"},
             {"dim": "acousticness", "gold": 90.0, "pred": 40.0, "text": "a fiddle by the fire", "id": "y"}]
    rows = targeted_rows(cases, per_case=4, seed=1)
    assert len(rows) == 8
    for r in rows[:4]:
        assert r["params"]["energy"] <= 25
    for r in rows[4:]:
        assert r["params"]["acousticness"] >= 80


def test_stacked_ensemble_is_the_mean_of_its_members():
    rng = np.random.default_rng(0)

    def member():
        return {"mu": np.zeros(5, np.float32), "sd": np.ones(5, np.float32),
                "W0": rng.normal(size=(5, 4)).astype(np.float32), "b0": rng.normal(size=4).astype(np.float32),
                "W1": 0.2 * rng.normal(size=(4, 6)).astype(np.float32), "b1": 0.2 * rng.normal(size=6).astype(np.float32)}

    ms = [member() for _ in range(3)]
    X = rng.normal(size=(7, 5)).astype(np.float32)
    pre = [np.arctanh(np.clip((predict(m, X) - 50) / 50, -0.999999, 0.999999)) for m in ms]
    got = np.arctanh(np.clip((predict(stack(ms), X) - 50) / 50, -0.999999, 0.999999))
    assert np.allclose(got, np.mean(pre, 0), atol=1e-3)


class _Resp:
    def __init__(self, content):
        self.status_code = 200
        self._c = content

    def json(self):
        return {"choices": [{"message": {"content": self._c}}], "usage": {"prompt_tokens": 100, "completion_tokens": 50}}


class FakeTeacher:
    """Answers 'write' prompts with requests and 'label' prompts with labels (one bad)."""

    def __init__(self):
        self.n = 0

    def post(self, url, *, headers, json, timeout):
        msgs = json["messages"]
        if msgs[0]["role"] == "user":  # write step
            self.n += 1
            reqs = [f"a quiet snowy evening by the stove, version {self.n}-{k}" for k in range(4)]
            return _Resp(__import__("json").dumps({"requests": reqs}))
        text = msgs[1]["content"]
        if "-3" in text:
            return _Resp("sorry, I cannot label that")
        return _Resp('{"justification": "calm and cozy", "energy": 20, "warmth": 85, "brightness": 50, '
                     '"acousticness": 75, "complexity": 30, "nostalgia": 60}')


def test_teacher_generation_with_a_fake_client():
    teacher = MistralInterpreter("fake-key", client=FakeTeacher())
    rows, stats = teacher_generate(teacher, n=5, seed=0, batch=4)
    assert len(rows) == 5 and stats["label_invalid"] >= 1
    assert all(r["params"]["warmth"] == 85 and r["justification"] == "calm and cozy" for r in rows)
    assert stats["cost_usd"] > 0
    json.dumps(rows)

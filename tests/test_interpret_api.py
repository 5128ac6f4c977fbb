import json

import pytest

from kotone.domain.errors import InvalidInputError
from kotone.interpret.api import API_URL, MistralInterpreter
from kotone.interpret.jsonio import FallbackInterpreter
from kotone.interpret.rule import RuleInterpreter

KEY = "sk-test-not-a-real-key"


class FakeResp:
    def __init__(self, content, status=200):
        self.status_code = status
        self._content = content

    def json(self):
        return {"choices": [{"message": {"content": self._content}}],
                "usage": {"prompt_tokens": 300, "completion_tokens": 60}}


class FakeClient:
    def __init__(self, content, status=200):
        self.content, self.status, self.calls = content, status, []

    def post(self, url, *, headers, json, timeout):
        self.calls.append((url, headers, json))
        return FakeResp(self.content, self.status)


GOOD = '```json\n{"justification": "slow and cozy", "energy": 20, "warmth": 90, "brightness": 55, ' \
       '"acousticness": 80, "complexity": 30, "nostalgia": 120}\n```'


def test_good_answer_is_parsed_and_clamped():
    client = FakeClient(GOOD)
    m = MistralInterpreter(KEY, client=client)
    r = m.interpret("a cozy lullaby")
    assert r.valid and r.params.warmth == 90 and r.params.nostalgia == 100
    url, headers, body = client.calls[0]
    assert url == API_URL and headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(body["messages"][1]["content"]) == {"request": "a cozy lullaby"}
    assert m.tokens_in == 300 and m.cost_usd() > 0


def test_invalid_answer_falls_back_and_is_counted():
    fb = FallbackInterpreter(MistralInterpreter(KEY, client=FakeClient("I think it's calm.")), RuleInterpreter())
    r = fb.interpret("a loud rave")
    assert r.fallback and fb.fallbacks == 1 and r.params.energy > 60


def test_http_error_never_leaks_the_key():
    m = MistralInterpreter(KEY, client=FakeClient("", status=401))
    with pytest.raises(RuntimeError) as ei:
        m.interpret("xyz")
    assert KEY not in str(ei.value) and KEY not in repr(m)


def test_missing_key(monkeypatch):
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    with pytest.raises(InvalidInputError):
        MistralInterpreter.from_env()

import math

import pytest

from kotone.domain.params import NEUTRAL
from kotone.interpret.base import Interpretation
from kotone.interpret.jsonio import FallbackInterpreter, InvalidOutput, extract_json, parse_params
from kotone.interpret.rule import RuleInterpreter

SIX = '{"energy": 10, "warmth": 20, "brightness": 30, "acousticness": 40, "complexity": 50, "nostalgia": 60}'


def test_raw_and_fenced_and_prose():
    assert parse_params(SIX).params.energy == 10
    fenced = f"Sure! Here it is:\n```json\n{SIX}\n```\nHope it helps."
    assert parse_params(fenced).params.nostalgia == 60
    prose = 'The answer {not json} then ' + SIX.replace("10", "11") + " trailing"
    assert parse_params(prose).params.energy == 11


def test_nested_params_and_justification():
    out = parse_params('{"justification": "soft {braces} inside", "params": ' + SIX + "}")
    assert out.params.complexity == 50
    assert out.justification == "soft {braces} inside"


def test_clamps_out_of_range_and_numeric_strings():
    out = parse_params(SIX.replace("10", "140").replace("20", "-5").replace("30", '"35"'))
    assert out.params.energy == 100 and out.params.warmth == 0 and out.params.brightness == 35
    assert out.clamped


@pytest.mark.parametrize("bad", [
    "", "no json here", "```json\n{broken\n```", '{"energy": 10}',
    SIX.replace("10", '"loud"'), SIX.replace("10", "true"), SIX.replace("10", "NaN"),
    "[1, 2, 3]",
])
def test_invalid_is_rejected(bad):
    with pytest.raises(InvalidOutput):
        parse_params(bad)


def test_extract_prefers_first_object():
    assert extract_json('{"a": 1} {"b": 2}') == {"a": 1}


class _Broken:
    name = "broken"

    def __init__(self, mode):
        self.mode = mode

    def interpret(self, text):
        if self.mode == "raise":
            raise RuntimeError("boom")
        if self.mode == "invalid":
            return Interpretation(params=NEUTRAL, backend=self.name, latency_ms=1.0, valid=False)
        return Interpretation(params=NEUTRAL, backend=self.name, latency_ms=1.0)


def test_fallback_counts():
    fb = FallbackInterpreter(_Broken("raise"), RuleInterpreter())
    r = fb.interpret("a loud rave")
    assert r.fallback and not r.valid and r.backend == "broken"
    assert r.params.energy > 60  # rule's answer
    fb2 = FallbackInterpreter(_Broken("invalid"), RuleInterpreter)
    fb2.interpret("xyz")
    ok = FallbackInterpreter(_Broken("ok"), RuleInterpreter())
    assert not ok.interpret("fine").fallback
    assert (fb.calls, fb.fallbacks) == (1, 1)
    assert (fb2.calls, fb2.fallbacks) == (1, 1)
    assert ok.fallbacks == 0 and math.isclose(ok.fallback_rate, 0.0)

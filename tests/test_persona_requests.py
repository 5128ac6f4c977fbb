"""Generated requests speak in their own townsperson's voice and fit their personality."""

import random

import pytest

from kotone.assets import load_book
from kotone.interpret.commission_gen import (
    ADULT_ONLY,
    SPEAKERS,
    generate_commission,
    persona_misfit,
    read_persona,
)
from kotone.interpret.rule import RuleInterpreter


@pytest.fixture(scope="module")
def interpreter():
    return RuleInterpreter()


@pytest.mark.parametrize("person", ["ines", "karim", "pip", "eulalie", "nova"])
def test_requests_fit_their_speaker(person, interpreter):
    p = load_book().people[person]
    persona = read_persona(p.personality, interpreter)
    rng = random.Random(4)
    rows = [generate_commission(rng, person, interpreter, persona=p) for _ in range(12)]
    intros = [s for s in SPEAKERS if s]
    for row in rows:
        assert not any(s in row["text"] for s in intros), row["text"]  # nobody else's self-introduction
        if persona.child:
            assert not any(a in row["text"] for a in ADULT_ONLY), row["text"]
    assert persona.child == (person == "pip")


def test_misfit_flags_a_request_against_the_speaker(interpreter):
    from kotone.domain.params import Params
    from kotone.interpret.commission_gen import Generated

    loud_warm = read_persona("generous, loud, warm and lively; laughs like a bellows", interpreter)
    cold_still = Generated("aloof, solemn", Params(energy=10, warmth=8, brightness=30))
    assert persona_misfit(cold_still, loud_warm) > 0
    fitting = Generated("a lively warm feast", loud_warm.traits)
    assert persona_misfit(fitting, loud_warm) == 0

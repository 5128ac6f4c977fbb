"""Every style card's defining idioms and every gimmick card's effect, measured in the music
(kotone.music.idioms), over card combinations the checks were not written for."""

import pytest

from kotone.assets import load_catalog
from kotone.music.gimmicks import GIMMICK_CHECKS
from kotone.music.idioms import IDIOM_CHECKS, heard
from kotone.pipeline import compose

CAT = load_catalog()
STYLES = [c.id for c in CAT.by_slot("style")]
INSTRUMENTS = [c.id for c in CAT.by_slot("instrument")]
MOODS = [c.id for c in CAT.by_slot("mood")]
GIMMICKS = [c.id for c in CAT.by_slot("gimmick")]


def test_every_idiom_has_a_check_and_every_style_claims_one():
    from typing import get_args

    from kotone.domain.cards import Idiom

    assert set(get_args(Idiom)) == set(IDIOM_CHECKS)
    for style in STYLES:
        assert CAT.get(style).music.idioms, style


def test_every_gimmick_effect_has_a_check():
    assert {CAT.get(g).music.effect for g in GIMMICKS} == set(GIMMICK_CHECKS)


def _combos(i: int) -> list[tuple[str, str, str]]:
    """Three instrument / mood / gimmick combinations per index, spread over the catalog."""
    return [(INSTRUMENTS[(i + 7 * k) % len(INSTRUMENTS)], MOODS[(i + 5 * k) % len(MOODS)],
             GIMMICKS[(3 * i + 4 * k) % len(GIMMICKS)]) for k in range(3)]


@pytest.mark.parametrize("style", STYLES)
def test_style_idioms_hold(style):
    idioms = CAT.get(style).music.idioms
    for k, (inst, mood, gim) in enumerate(_combos(STYLES.index(style))):
        song = compose({"style": style, "instrument": inst, "mood": mood, "gimmick": gim}, 40 + k)
        h = heard(song)
        for idiom in idioms:
            ok, why = IDIOM_CHECKS[idiom](h)
            assert ok, f"{style} with {inst}, {mood}, {gim}: {idiom}: {why}"


@pytest.mark.parametrize("gimmick", GIMMICKS)
def test_gimmick_does_what_it_says(gimmick):
    effect = CAT.get(gimmick).music.effect
    i = GIMMICKS.index(gimmick)
    for k in range(2):
        style = STYLES[(5 * i + 9 * k) % len(STYLES)]
        if effect == "double_time" and CAT.get(style).music.drum_kit == "none":
            style = "style_folk"
        choice = {"style": style, "instrument": INSTRUMENTS[(3 * i + k) % len(INSTRUMENTS)],
                  "mood": MOODS[(2 * i + 3 * k) % len(MOODS)], "gimmick": gimmick}
        ok, why = GIMMICK_CHECKS[effect](heard(compose(choice, 70 + k)))
        assert ok, f"{gimmick} in {choice}: {why}"

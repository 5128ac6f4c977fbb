"""Harmony: periods with half and full cadences, the style's cadence chord per scale, chords
from the parent scale of pentatonic and Japanese scales, the 12-bar blues."""

import numpy as np
import pytest

from kotone.domain.theory import cadence_chord, harmony_scale, scale_pcs
from kotone.music.harmony import HarmonyPlanner


def planner(scale: str, cadence: list[str], family: str = "pop", tonic: int = 0, extended: float = 0.0,
            blues: bool = False, final_seventh: bool = False) -> HarmonyPlanner:
    return HarmonyPlanner(family=family, tonic=tonic, scale=scale, cadence_prefs=cadence, bpb=4.0, extended=extended,
                          final_seventh=final_seventh, blues=blues, rng=np.random.default_rng(3))


def per_bar(chords, bpb=4.0):
    out = []
    for c in chords:
        out += [c] * max(1, int(round(c.beats / bpb)))
    return out


def test_an_eight_bar_section_is_a_period():
    h = planner("major", ["V"])
    bars = per_bar(h.section_chords("verse", "A", 8, final=False))
    assert [c.symbol for c in bars[:2]] == [c.symbol for c in bars[4:6]]  # the consequent restates
    assert bars[3].root_pc == 7 and bars[6].root_pc == 7  # half cadence, then V - I
    assert bars[7].root_pc == 0 and bars[0].root_pc == 0


@pytest.mark.parametrize(("scale", "prefs", "expected"), [
    ("mixolydian", ["bVII"], "bVII"),  # celtic
    ("dorian", ["bVII"], "bVII"),
    ("hijaz", ["bII"], "bII"),  # desert
    ("double_harmonic", ["bII"], "bII"),
    ("minor", ["IV", "iv"], "iv"),  # a minor lullaby closes plagally
    ("major", ["IV", "iv"], "IV"),
    ("lydian", ["IV", "iv", "V"], "V"),  # lydian has no IV: the dominant
    ("phrygian", ["bVII", "bII"], "bII"),
    ("dorian", ["V"], "V"),  # the dominant is always allowed (raised third)
])
def test_cadence_chord_per_scale(scale, prefs, expected):
    assert cadence_chord(scale, prefs) == expected


def test_the_last_section_closes_on_the_tonic_without_a_seventh_unless_the_style_wants_one():
    plain = per_bar(planner("major", ["V"], extended=1.0).section_chords("outro", "O", 4, final=True))
    assert plain[-1].root_pc == 0 and len(plain[-1].pcs) == 3 and plain[-2].root_pc == 7
    jazzy = per_bar(planner("major", ["V"], extended=1.0, final_seventh=True).section_chords("outro", "O", 4, final=True))
    assert len(jazzy[-1].pcs) == 4


@pytest.mark.parametrize("scale", ["pentatonic_major", "pentatonic_minor", "yo", "in", "ryukyu", "blues_minor"])
def test_pentatonic_scales_take_chords_from_their_parent(scale):
    parent = harmony_scale(scale)
    assert len(scale_pcs(0, parent)) == 7
    if scale != "blues_minor":  # a blues tune's flat 3rd and 5th rub against its dominant chords on purpose
        assert set(scale_pcs(0, scale)) <= set(scale_pcs(0, parent))
    h = planner(scale, ["V", "IV", "bVII", "bII"], family="modal" if scale in ("yo", "in") else "pop")
    chords = [c for kind, label in (("verse", "A"), ("chorus", "B")) for c in h.section_chords(kind, label, 8, False)]
    assert len({c.symbol for c in chords}) >= 3
    assert any(c.root_pc == 0 for c in chords)  # the tonic is a chord root


def test_twelve_bar_blues():
    h = planner("blues_minor", ["V"], family="blues", tonic=7, blues=True)
    bars = per_bar(h.section_chords("chorus", "A", 12, final=False))
    assert [(c.root_pc - 7) % 12 for c in bars] == [0, 5, 0, 0, 5, 5, 0, 0, 7, 5, 0, 7]
    for c in bars:
        assert (c.root_pc + 4) % 12 in c.pcs  # major / dominant
    assert len(bars[3].pcs) == 4 and len(bars[8].pcs) == 4  # I7 into the IV, V7

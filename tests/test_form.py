"""Form: every layout brings its theme back; lengths land in 45-120 s for every style's tempi."""

import numpy as np
import pytest

from kotone.assets import load_catalog
from kotone.music.form import FORMS, MAX_SECONDS, MIN_SECONDS, build_form, choose_layout, layout_bars
from kotone.music.planner import BEATS_PER_BAR


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_layout_returns_and_ends(form):
    for layout in FORMS[form]:
        letters = [label for _, label in layout if label not in ("I", "O")]
        assert len(letters) > len(set(letters)), (form, layout)  # something comes back
        assert layout[-1] == ("outro", "O")


@pytest.mark.parametrize("style", [c.id for c in load_catalog().by_slot("style")])
def test_length_follows_form_and_tempo(style):
    music = load_catalog().get(style).music
    bpb = BEATS_PER_BAR[music.meter]
    for tempo in (music.tempo_range[0] - 10, music.tempo_range[1] + 10):
        for seed in range(3):
            layout, unit = choose_layout(music.form, tempo, bpb, np.random.default_rng(seed))
            seconds = layout_bars(music.form, layout, unit) * bpb * 60 / tempo
            assert MIN_SECONDS <= seconds <= MAX_SECONDS, (style, tempo, seconds)


def test_returns_point_back_to_the_first_statement():
    sections = build_form("verse_chorus", 110, 4, np.random.default_rng(0))
    ids = [s.section_id for s in sections]
    assert len(ids) == len(set(ids))
    for k, s in enumerate(sections):
        if s.repeat_of:
            src = ids.index(s.repeat_of)
            assert src < k and sections[src].label == s.label and sections[src].repeat_of is None
    assert any(s.repeat_of and s.section_type == "chorus" for s in sections)


def test_phrases_are_four_eight_or_twelve_bars():
    for form in FORMS:
        for tempo in (60, 120, 170):
            for s in build_form(form, tempo, 4, np.random.default_rng(1)):
                assert s.bars in ((2, 4) if s.section_type in ("intro", "outro") else (4, 8, 12)), (form, s)


def test_music_box_prelude_gets_an_intro():
    for seed in range(5):
        assert build_form("aaba", 170, 4, np.random.default_rng(seed), need_intro=True)[0].section_type == "intro"

"""Anticipations: complexity pushes on-beat notes ahead; motif notes never move."""

import itertools

import numpy as np

from kotone.music.rhythm import anticipate, anticipation_share
from kotone.music.types import Note


def quarter_line(n=16):
    return [Note(float(i), 0.95, 60 + (i % 5), 80) for i in range(n)]


def test_share_grows_with_complexity_and_is_zero_when_plain():
    assert anticipation_share(0.2) == 0.0
    assert 0 < anticipation_share(0.5) < anticipation_share(0.7) <= 0.55


def test_anticipation_moves_half_a_beat_early_and_carries_across_the_beat():
    line = quarter_line()
    out = anticipate(line, 1.0, np.random.default_rng(0))
    moved = [(a, b) for a, b in zip(line, out, strict=True) if a.start != b.start]
    assert moved
    for before, after in moved:
        assert after.start == before.start - 0.5
        assert after.end > before.start  # sounds through the beat it anticipates
        assert after.pitch == before.pitch
    # no two onsets collide and no note overlaps the next one
    ordered = sorted(out, key=lambda n: n.start)
    for a, b in itertools.pairwise(ordered):
        assert a.start < b.start and a.end <= b.start + 1e-9


def test_nothing_moves_at_zero_share_and_locked_notes_stay():
    line = quarter_line()
    assert anticipate(line, 0.0, np.random.default_rng(0)) == line
    locked = set(line[4:8])
    out = anticipate(line, 1.0, np.random.default_rng(0), locked)
    for note in locked:
        assert note in out
    # the note after a locked one would shorten it, so it keeps its onset too
    assert any(n.start == line[8].start and n.pitch == line[8].pitch for n in out)


def test_first_beat_of_the_section_is_never_anticipated():
    line = [Note(8.0 + i, 0.9, 62, 70) for i in range(6)]
    out = anticipate(line, 1.0, np.random.default_rng(1), start_beat=8.0)
    assert out[0].start == 8.0
    assert min(n.start for n in out) == 8.0

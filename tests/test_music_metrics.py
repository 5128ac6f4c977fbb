"""Known-answer tests for eval.music_metrics."""

from __future__ import annotations

import math

import pytest

from eval import music_metrics as mm
from kotone.music.types import ChordSpan, Note

C_MAJOR = (0, 2, 4, 5, 7, 9, 11)
C_CHORD = ChordSpan(0.0, 4.0, 0, (0, 4, 7), "C", 1)
G_CHORD = ChordSpan(4.0, 4.0, 7, (7, 11, 2), "G", 5)


def n(start: float, pitch: int, dur: float = 1.0) -> Note:
    return Note(start, dur, pitch, 80)


@pytest.mark.parametrize(
    ("beat", "bpb", "strong"),
    [(0.0, 4, True), (2.0, 4, True), (1.0, 4, False), (0.5, 4, False), (4.0, 4, True), (0.0, 3, True), (1.5, 3, False)],
)
def test_strong_beats(beat: float, bpb: float, strong: bool) -> None:
    assert mm.is_strong_beat(beat, bpb) is strong


def test_chord_tone_ratio_strong_beats_only() -> None:
    notes = [n(0, 60), n(1, 62), n(2, 65), n(4, 67), n(6, 71)]  # strong: 60 yes, 65 no, 67 yes, 71 yes
    assert mm.chord_tone_ratio(notes, [C_CHORD, G_CHORD], 4) == pytest.approx(3 / 4)
    assert mm.chord_tone_ratio(notes, [C_CHORD, G_CHORD], 4, strong_only=False) == pytest.approx(3 / 5)
    assert mm.chord_tone_ratio([], [C_CHORD], 4) == 0.0


def test_in_scale_ratio_and_entropy() -> None:
    notes = [n(0, 60), n(1, 61), n(2, 62), n(3, 64)]
    assert mm.in_scale_ratio(notes, C_MAJOR) == pytest.approx(0.75)
    assert mm.in_scale_ratio([], C_MAJOR) == 1.0
    assert mm.pitch_class_entropy(notes) == pytest.approx(2.0)
    assert mm.pitch_class_entropy([n(0, 60), n(1, 72)]) == 0.0
    chromatic = [n(i, 60 + i) for i in range(12)]
    assert mm.pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))


def test_key_estimation_and_consistency() -> None:
    scale = [n(i, p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60])]
    tonic, mode, r = mm.estimate_key(scale)
    assert (tonic, mode) == (0, "major") and r > 0.7
    assert mm.key_consistency(scale, 0, "major") > mm.key_consistency(scale, 6, "major")


def test_groove_consistency() -> None:
    same = [n(b * 4 + o, 36, 0.25) for b in range(4) for o in (0, 1, 2, 3)]
    assert mm.groove_consistency(same, 4, 4) == 1.0
    alternating = [n(0, 36, 0.25), n(4.5, 36, 0.25)]
    # bar 0 onset at step 0, bar 1 onset at step 2: 2 of 16 steps differ.
    assert mm.groove_consistency(alternating, 2, 4) == pytest.approx(1 - 2 / 16)
    assert mm.groove_consistency([], 1, 4) == 1.0


def test_motif_recurrence_and_phrase_coherence() -> None:
    bar = [(0, 60), (1, 62), (2, 64), (3, 60)]
    repeated = [n(b * 4 + t, p) for b in range(4) for t, p in bar]
    assert mm.motif_recurrence(repeated, 3) == 1.0
    assert mm.phrase_coherence(repeated, 4, 4) == pytest.approx(1.0)
    unrelated = [n(0, 60), n(1, 62), n(2, 64), n(3, 65), n(4.5, 72, 0.5), n(6.25, 60, 0.25), n(7.75, 50, 0.25)]
    assert mm.phrase_coherence(unrelated, 2, 4) < 0.5
    assert mm.phrase_coherence([n(0, 60)], 2, 4) == 0.0


def test_melodic_units_transposition_invariant() -> None:
    a = [n(0, 60), n(1, 64), n(1.5, 67)]
    b = [Note(x.start, x.dur, x.pitch + 5, 80) for x in a]
    assert mm.melodic_units(a) == mm.melodic_units(b) == [(0, 0), (4, 4), (3, 2)]


def test_ngram_memorization_checks() -> None:
    corpus = [[1, 2, 3, 4, 5, 6], [9, 9, 9]]
    assert mm.longest_shared_ngram([0, 2, 3, 4, 7], corpus) == 3
    assert mm.longest_shared_ngram([7, 8], corpus) == 0
    assert mm.longest_shared_ngram([9, 9, 9, 9], corpus) == 3
    assert mm.shingle_similarity([1, 2, 3, 4], [1, 2, 3, 4], k=2) == 1.0
    assert mm.shingle_similarity([1, 2, 3], [1, 2, 4], k=2) == pytest.approx(1 / 3)
    assert mm.max_shingle_similarity([1, 2, 3], corpus, k=2) == pytest.approx(2 / 5)


def test_compression_ratio_orders_repetition() -> None:
    assert mm.compression_ratio([1, 2] * 50) > mm.compression_ratio(list(range(100)))
    assert mm.perplexity(0.0) == 1.0


# ---------------------------------------------------------------- listener metrics (known answers)

from eval import music_metrics as lm  # noqa: E402
from kotone.music.types import Note as _N  # noqa: E402


def _bar(start, pitches, step=1.0, dur=0.9):
    return [_N(start + i * step, dur, p, 80) for i, p in enumerate(pitches)]


def test_bar_recurrence_counts_exact_repeats_only():
    a, b = [60, 62, 64, 65], [67, 65, 64, 62]
    tune = _bar(0, a) + _bar(4, b) + _bar(8, a) + _bar(12, [p + 2 for p in a])
    assert lm.bar_recurrence(tune, 4) == 0.25  # bar 3 repeats bar 1; bar 4 is a sequence, not a repeat


def test_section_returns_needs_a_four_bar_return():
    bars = [[60, 62, 64, 65], [67, 65, 64, 62], [60, 64, 67, 72], [71, 67, 62, 60]]
    first = [n for k, b in enumerate(bars) for n in _bar(4 * k, b)]
    other = [n for k, b in enumerate(bars) for n in _bar(16 + 4 * k, [p - 5 + k for p in b])]
    again = [n for k, b in enumerate(bars) for n in _bar(32 + 4 * k, [p + 2 for p in b])]  # key change
    assert lm.section_returns(first + other + again, 4)
    assert not lm.section_returns(first + other, 4)


def test_lead_top_share():
    lead = _bar(0, [72, 74, 76, 77])
    under = _bar(0, [60, 62, 64, 65])
    over = _bar(0, [60, 62, 80, 81])
    assert lm.lead_top_share(lead, under) == 1.0
    assert lm.lead_top_share(lead, over) == 0.5


def test_ending_and_overlap():
    tune = _bar(0, [64, 62]) + [_N(2, 2.0, 60, 80)]
    e = lm.ending(tune, [_N(2, 2, 36, 80)], 0, [7, 0])
    assert e == {"tonic": 1.0, "held_beats": 2.0, "bass_tonic": 1.0, "cadence": "V-I"}
    same_in_d = [_N(n.start, n.dur, n.pitch + 2, 80) for n in tune]
    assert lm.melody_overlap(tune, same_in_d, 4, 0, 2) == 1.0  # the same tune in another key
    assert lm.melody_overlap(tune, _bar(0, [65, 67, 69]), 4, 0, 0) == 0.0

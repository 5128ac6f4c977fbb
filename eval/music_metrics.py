"""Pure musical metrics over lists of ``Note`` and ``ChordSpan`` (times in beats).

Every function is deterministic, side-effect free and documented with its range, so the
expert report card and the song report can share them. Empty input returns the neutral
value named in each docstring instead of raising.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from kotone.domain.theory import KK_MAJOR, KK_MINOR
from kotone.music.experts.theory import estimate_key as _estimate_key
from kotone.music.types import ChordSpan, Note

# Krumhansl-Kessler key profiles (major, minor), tonic first.
MAJOR_PROFILE = np.array(KK_MAJOR)
MINOR_PROFILE = np.array(KK_MINOR)

_EPS = 1e-9


def _chord_at(chords: Sequence[ChordSpan], beat: float) -> ChordSpan | None:
    for ch in chords:
        if ch.start - _EPS <= beat < ch.end - _EPS:
            return ch
    return None


def is_strong_beat(beat: float, beats_per_bar: float, origin: float = 0.0) -> bool:
    """True for an onset on the downbeat, or on the middle beat of an even-beat bar."""
    pos = (beat - origin) % beats_per_bar
    if abs(pos) < _EPS or abs(pos - beats_per_bar) < _EPS:
        return True
    half = beats_per_bar / 2
    return round(beats_per_bar) % 2 == 0 and abs(pos - half) < _EPS


def chord_tone_ratio(
    notes: Sequence[Note],
    chords: Sequence[ChordSpan],
    beats_per_bar: float = 4.0,
    origin: float = 0.0,
    strong_only: bool = True,
) -> float:
    """Share (0-1) of notes whose pitch class belongs to the chord sounding at their onset.

    With ``strong_only`` only onsets on strong beats (see ``is_strong_beat``) count.
    Notes outside every chord span are skipped. No counted note -> 0.0.
    """
    hits = total = 0
    for n in notes:
        if strong_only and not is_strong_beat(n.start, beats_per_bar, origin):
            continue
        ch = _chord_at(chords, n.start)
        if ch is None:
            continue
        total += 1
        hits += (n.pitch % 12) in ch.pcs
    return hits / total if total else 0.0


def in_scale_ratio(notes: Sequence[Note], scale_pcs: Iterable[int]) -> float:
    """Share (0-1) of notes whose pitch class is in ``scale_pcs``. No notes -> 1.0."""
    scale = {int(p) % 12 for p in scale_pcs}
    if not notes:
        return 1.0
    return sum((n.pitch % 12) in scale for n in notes) / len(notes)


def pitch_class_histogram(notes: Sequence[Note], weighted: bool = True) -> np.ndarray:
    """12-bin pitch-class histogram, duration-weighted by default, summing to 1 (or zeros)."""
    hist = np.zeros(12)
    for n in notes:
        hist[n.pitch % 12] += n.dur if weighted else 1.0
    total = hist.sum()
    return hist / total if total > 0 else hist


def pitch_class_entropy(notes: Sequence[Note]) -> float:
    """Shannon entropy in bits (0 .. log2(12)=3.585) of the note-count pitch-class histogram."""
    hist = pitch_class_histogram(notes, weighted=False)
    nz = hist[hist > 0]
    return float(-(nz * np.log2(nz)).sum()) if nz.size else 0.0


def estimate_key(notes: Sequence[Note]) -> tuple[int, str, float]:
    """Krumhansl-Schmuckler key: (tonic_pc, "major"|"minor", correlation -1..1)."""
    tonic, mode, r = _estimate_key(pitch_class_histogram(notes))
    return tonic, {"maj": "major", "min": "minor"}[mode], r


def key_consistency(notes: Sequence[Note], tonic_pc: int, mode: str) -> float:
    """Correlation (-1..1) of the notes' pitch-class profile with the target key profile.

    ``mode`` is "major" or "minor". No notes -> 0.0.
    """
    hist = pitch_class_histogram(notes)
    if hist.sum() == 0:
        return 0.0
    profile = MAJOR_PROFILE if mode == "major" else MINOR_PROFILE
    return float(np.corrcoef(hist, np.roll(profile, tonic_pc % 12))[0, 1])


def onset_grid(
    notes: Sequence[Note], bars: int, beats_per_bar: float, origin: float = 0.0, steps_per_beat: int = 4
) -> np.ndarray:
    """Boolean (bars, steps) matrix of onsets quantized to ``steps_per_beat`` per beat."""
    steps = max(1, round(beats_per_bar * steps_per_beat))
    grid = np.zeros((bars, steps), dtype=bool)
    for n in notes:
        idx = round((n.start - origin) * steps_per_beat)
        bar, step = divmod(idx, steps)
        if 0 <= bar < bars:
            grid[bar, step] = True
    return grid


def groove_consistency(
    notes: Sequence[Note], bars: int, beats_per_bar: float, origin: float = 0.0, steps_per_beat: int = 4
) -> float:
    """Mean over consecutive bar pairs of 1 - Hamming(onset grids)/steps (0-1). <2 bars -> 1.0.

    This is the "grooving similarity" of Wu & Yang (2020), restricted to neighbouring bars.
    """
    grid = onset_grid(notes, bars, beats_per_bar, origin, steps_per_beat)
    if bars < 2:
        return 1.0
    diffs = (grid[1:] != grid[:-1]).mean(axis=1)
    return float(1.0 - diffs.mean())


def melodic_units(notes: Sequence[Note], steps_per_beat: int = 4) -> list[tuple[int, int]]:
    """Transposition-invariant units: (interval to previous pitch, inter-onset steps).

    Notes are sorted by onset; simultaneous notes keep only the highest. The first note's
    interval is 0 and its IOI 0.
    """
    mono: dict[float, Note] = {}
    for n in notes:
        if n.start not in mono or n.pitch > mono[n.start].pitch:
            mono[n.start] = n
    seq = [mono[t] for t in sorted(mono)]
    units: list[tuple[int, int]] = []
    for i, n in enumerate(seq):
        if i == 0:
            units.append((0, 0))
        else:
            ioi = round((n.start - seq[i - 1].start) * steps_per_beat)
            units.append((n.pitch - seq[i - 1].pitch, ioi))
    return units


def motif_recurrence(notes: Sequence[Note], n: int = 4) -> float:
    """Share (0-1) of melodic n-grams (see ``melodic_units``) that occur more than once."""
    units = melodic_units(notes)[1:]
    grams = [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]
    if not grams:
        return 0.0
    counts = Counter(grams)
    return sum(1 for g in grams if counts[g] > 1) / len(grams)


def _bar_profile(
    notes: Sequence[Note], bar: int, beats_per_bar: float, origin: float, steps_per_beat: int
) -> tuple[frozenset[int], tuple[int, ...]]:
    lo = origin + bar * beats_per_bar
    hi = lo + beats_per_bar
    inside = sorted((n for n in notes if lo - _EPS <= n.start < hi - _EPS), key=lambda n: (n.start, -n.pitch))
    onsets = frozenset(round((n.start - lo) * steps_per_beat) for n in inside)
    contour = tuple(int(np.sign(b.pitch - a.pitch)) for a, b in itertools.pairwise(inside))
    return onsets, contour


def _contour_similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    if not a and not b:
        return 1.0
    length = max(len(a), len(b))
    return sum(x == y for x, y in zip(a, b, strict=False)) / length


def phrase_coherence(
    notes: Sequence[Note], bars: int, beats_per_bar: float, origin: float = 0.0, steps_per_beat: int = 4
) -> float:
    """How much each bar recalls an earlier bar (0-1); the mean over bars 2..N.

    Similarity of two bars = mean of the Jaccard overlap of their onset positions and the
    agreement of their up/down contour. A bar that restates or varies an earlier bar scores
    high, a bar unrelated to everything before it scores low; empty bars are skipped.
    <2 non-empty bars -> 0.0.
    """
    profiles = [_bar_profile(notes, b, beats_per_bar, origin, steps_per_beat) for b in range(bars)]
    profiles = [p for p in profiles if p[0]]
    if len(profiles) < 2:
        return 0.0
    scores = []
    for i in range(1, len(profiles)):
        on_i, con_i = profiles[i]
        best = 0.0
        for on_j, con_j in profiles[:i]:
            jac = len(on_i & on_j) / len(on_i | on_j)
            best = max(best, 0.5 * jac + 0.5 * _contour_similarity(con_i, con_j))
        scores.append(best)
    return float(np.mean(scores))


def compression_ratio(tokens: Sequence[Hashable]) -> float:
    """Raw size / zlib size of the token sequence's text (>= ~1; higher = more repetitive)."""
    if not tokens:
        return 1.0
    raw = " ".join(map(str, tokens)).encode()
    return len(raw) / len(zlib.compress(raw, 9))


def ngrams(seq: Sequence[Hashable], n: int) -> set[tuple]:
    """The set of contiguous n-grams of ``seq`` (empty when ``len(seq) < n``)."""
    return {tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)}


class NgramIndex:
    """All n-grams of a reference corpus, built lazily per n, for memorization checks."""

    def __init__(self, sequences: Iterable[Sequence[Hashable]]) -> None:
        self._seqs = [tuple(s) for s in sequences]
        self._sets: dict[int, set[tuple]] = {}

    def contains(self, gram: tuple) -> bool:
        n = len(gram)
        if n not in self._sets:
            grams: set[tuple] = set()
            for s in self._seqs:
                grams |= ngrams(s, n)
            self._sets[n] = grams
        return gram in self._sets[n]

    def longest_shared(self, query: Sequence[Hashable], max_n: int = 64) -> int:
        """Length of the longest contiguous run of ``query`` found anywhere in the corpus."""
        query = tuple(query)
        best = 0
        n = 1
        # Monotone: if no n-gram is shared, no (n+1)-gram is either.
        while n <= min(max_n, len(query)):
            if any(self.contains(query[i : i + n]) for i in range(len(query) - n + 1)):
                best = n
                n += 1
            else:
                break
        return best


def longest_shared_ngram(query: Sequence[Hashable], corpus: Iterable[Sequence[Hashable]]) -> int:
    """Length of the longest contiguous subsequence of ``query`` that occurs in ``corpus``."""
    return NgramIndex(corpus).longest_shared(query)


def shingle_similarity(a: Sequence[Hashable], b: Sequence[Hashable], k: int = 4) -> float:
    """Jaccard similarity (0-1) of the k-shingle sets of two sequences; both empty -> 0.0."""
    sa, sb = ngrams(a, k), ngrams(b, k)
    union = sa | sb
    return len(sa & sb) / len(union) if union else 0.0


def max_shingle_similarity(query: Sequence[Hashable], corpus: Iterable[Sequence[Hashable]], k: int = 4) -> float:
    """Highest ``shingle_similarity`` of ``query`` against any one corpus sequence."""
    sq = ngrams(query, k)
    if not sq:
        return 0.0
    best = 0.0
    for s in corpus:
        ss = ngrams(s, k)
        union = sq | ss
        if union:
            best = max(best, len(sq & ss) / len(union))
    return best


def note_density(notes: Sequence[Note], beats: float) -> float:
    """Onsets per beat."""
    return len({n.start for n in notes}) / beats if beats > 0 else 0.0


def perplexity(mean_nll_nats: float) -> float:
    """exp(mean negative log-likelihood per token in nats)."""
    return float(math.exp(mean_nll_nats))


# ---------------------------------------------------------------- what a listener hears
# Each takes notes in beats; every function applies unchanged to generated songs and to the
# real corpora (see eval/music.py, which prints them side by side).


def sounding_at(notes: Sequence[Note], t: float) -> list[Note]:
    return [n for n in notes if n.start <= t + _EPS < n.end]


def lead_top_share(lead: Sequence[Note], others: Sequence[Note], step: float = 0.25) -> float:
    """Share (0-1) of the time the lead sounds (sampled every ``step`` beats) in which no other
    part sounds above it. No lead -> 0.0; nothing else ever sounding -> 1.0."""
    if not lead:
        return 0.0
    lead_arr = np.array([(n.start, n.end, n.pitch) for n in lead], dtype=float)
    times = np.arange(lead_arr[:, 0].min(), lead_arr[:, 1].max(), step) + step / 2
    on = (lead_arr[None, :, 0] <= times[:, None]) & (times[:, None] < lead_arr[None, :, 1])
    lead_top = np.where(on, lead_arr[None, :, 2], -1.0).max(axis=1)
    heard = lead_top >= 0
    if not heard.any():
        return 0.0
    if not others:
        return 1.0
    oth = np.array([(n.start, n.end, n.pitch) for n in others], dtype=float)
    o_on = (oth[None, :, 0] <= times[:, None]) & (times[:, None] < oth[None, :, 1])
    rival = np.where(o_on, oth[None, :, 2], -1.0).max(axis=1)
    return float(np.mean(lead_top[heard] >= rival[heard]))


def bar_contents(notes: Sequence[Note], beats_per_bar: float, origin: float = 0.0,
                 relative_to: int = 0) -> dict[int, tuple[tuple[float, int], ...]]:
    """bar index -> its notes as (onset within the bar on the 16th grid, pitch - ``relative_to``),
    highest note of simultaneous onsets only. Onsets are read to the nearest sixteenth, as a
    listener hears a played (swung, loosely timed) rhythm as the written one."""
    bars: dict[int, dict[float, int]] = {}
    for n in notes:
        q = round((n.start - origin) * 4) / 4
        b = int(np.floor(q / beats_per_bar + 1e-6))
        off = round(q - b * beats_per_bar, 2)
        cur = bars.setdefault(b, {})
        cur[off] = max(cur.get(off, -1), n.pitch - relative_to)
    return {b: tuple(sorted(d.items())) for b, d in bars.items()}


def bar_recurrence(notes: Sequence[Note], beats_per_bar: float, origin: float = 0.0) -> float:
    """Share (0-1) of the melody's non-empty bars that repeat an earlier bar exactly (same
    onsets, same pitches). Essen and O'Neill tunes, repeats played, sit around a third to a half."""
    bars = bar_contents(notes, beats_per_bar, origin)
    seen: set = set()
    hits = 0
    for b in sorted(bars):
        hits += bars[b] in seen
        seen.add(bars[b])
    return hits / len(bars) if bars else 0.0


def _relative(content: tuple[tuple[float, int], ...], base: int) -> tuple[tuple[float, int], ...]:
    return tuple((o, p - base) for o, p in content)


def section_returns(notes: Sequence[Note], beats_per_bar: float, origin: float = 0.0, window: int = 4,
                    min_gap: int = 4) -> bool:
    """True when some ``window`` bars come back later (at least ``min_gap`` bars on), at least
    ``window``-1 of them identical up to one common transposition and with six notes or more:
    a chorus or an A strain that returns, as opposed to a two-bar idea restated inside a phrase."""
    bars = bar_contents(notes, beats_per_bar, origin)
    if not bars:
        return False
    last = max(bars)

    def win(i: int) -> list[tuple[tuple[float, int], ...] | None]:
        return [bars.get(i + k) for k in range(window)]

    for j in range(min_gap, last - window + 2):
        wj = win(j)
        if sum(len(c) for c in wj if c) < 6:
            continue
        base_j = next((c[0][1] for c in wj if c), 0)
        for i in range(0, j - min_gap + 1):
            wi = win(i)
            base_i = next((c[0][1] for c in wi if c), 0)
            same = sum(1 for a, b in zip(wi, wj, strict=True)
                       if a and b and _relative(a, base_i) == _relative(b, base_j))
            if same >= window - 1:
                return True
    return False


CADENCE_NAMES = {7: "V-I", 5: "IV-I", 10: "bVII-I", 1: "bII-I", 8: "bVI-I", 2: "II-I", 0: "I-I"}


def ending(melody: Sequence[Note], bass: Sequence[Note], tonic_pc: int, chord_roots: Sequence[int]) -> dict:
    """How a piece ends: the last melody note on the tonic and how long it is held (beats),
    the bass's last note on the tonic, and the cadence (root of the chord before the final
    chord, relative to the final root)."""
    out: dict = {"tonic": 0.0, "held_beats": 0.0, "bass_tonic": float("nan"), "cadence": "-"}
    if melody:
        last_start = max(n.start for n in melody)
        last = max((n for n in melody if n.start == last_start), key=lambda n: n.pitch)
        out["tonic"] = float(last.pitch % 12 == tonic_pc % 12)
        out["held_beats"] = float(last.dur)
    if bass:
        last_start = max(n.start for n in bass)
        out["bass_tonic"] = float(min(n.pitch for n in bass if n.start == last_start) % 12 == tonic_pc % 12)
    roots = [r for i, r in enumerate(chord_roots) if i == 0 or r != chord_roots[i - 1]]
    if len(roots) >= 2:
        out["cadence"] = CADENCE_NAMES.get((roots[-2] - roots[-1]) % 12, "other")
    return out


def melody_overlap(a: Sequence[Note], b: Sequence[Note], beats_per_bar: float, tonic_a: int, tonic_b: int) -> float:
    """Share (0-1) of song A's non-empty melody bars that also occur somewhere in song B, each
    bar read relative to its song's tonic (the same tune in another key still counts)."""
    bars_a = bar_contents(a, beats_per_bar, relative_to=tonic_a)
    bars_b = set(bar_contents(b, beats_per_bar, relative_to=tonic_b).values())
    return sum(c in bars_b for c in bars_a.values()) / len(bars_a) if bars_a else 0.0

"""Piano-roll images: size, colours, labels, edge cases, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from kotone.domain.errors import RenderError
from kotone.render.pianoroll import (
    BACKGROUND,
    TrackView,
    render_piano_roll,
    render_thumbnail,
    tracks_from_midi,
)

SECTIONS = [(0.0, "intro"), (8.0, "verse"), (20.0, "chorus"), (32.0, "outro")]


def make_tracks(duration_s: float = 40.0, n_notes: int = 400, seed: int = 0) -> list[TrackView]:
    rng = np.random.default_rng(seed)
    tracks = []
    for name, color, lo, hi in [("melody", "#f4a261", 67, 88), ("chords", "#8ecae6", 55, 72),
                                ("bass", "#b5e48c", 36, 52)]:  # fmt: skip
        starts = np.sort(rng.uniform(0, duration_s - 1, n_notes // 4))
        ends = starts + rng.uniform(0.1, 1.0, len(starts))
        pitches, velocities = rng.integers(lo, hi, len(starts)), rng.integers(30, 127, len(starts))
        columns = zip(starts, ends, pitches, velocities, strict=True)
        notes = [(float(a), float(b), int(p), int(v)) for a, b, p, v in columns]
        tracks.append(TrackView(name, color, False, notes))
    drum_starts = np.arange(0, duration_s, 0.25)
    drums = [(float(t), float(t) + 0.1, int(rng.choice([36, 38, 42, 47])), 100) for t in drum_starts]
    tracks.append(TrackView("drums", "#cdb4db", True, drums))
    return tracks


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def n_colours(arr: np.ndarray) -> int:
    packed = arr.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    return len(np.unique(packed))


def test_writes_png_of_requested_size_with_many_colours(tmp_path):
    out = render_piano_roll(make_tracks(), SECTIONS, 40.0, tmp_path / "roll.png", title="First snow")
    img = Image.open(out)
    assert img.format == "PNG" and img.size == (1200, 420)
    assert n_colours(pixels(out)) > 50


def test_custom_size_and_thumbnail(tmp_path):
    big = render_piano_roll(make_tracks(), SECTIONS, 40.0, tmp_path / "a.png", width=900, height=300)
    small = render_thumbnail(make_tracks(), SECTIONS, 40.0, tmp_path / "b.png")
    assert Image.open(big).size == (900, 300)
    assert Image.open(small).size == (600, 210)
    assert n_colours(pixels(small)) > 20


def test_section_label_area_differs_from_background(tmp_path):
    out = render_piano_roll(make_tracks(), SECTIONS, 40.0, tmp_path / "roll.png")
    arr = pixels(out).astype(int)
    strip = arr[28:42, 40:1190]  # the section-name strip under the header
    differs = np.any(np.abs(strip - np.array(BACKGROUND)) > 30, axis=-1)
    assert differs.mean() > 0.01  # text and boundary lines are drawn there


def test_notes_use_their_track_colours(tmp_path):
    tracks = [TrackView("only", "#ff0000", False, [(1.0, 9.0, 60, 127)])]
    arr = pixels(render_piano_roll(tracks, [], 10.0, tmp_path / "r.png")).astype(int)
    reddish = (arr[..., 0] > 200) & (arr[..., 1] < 80) & (arr[..., 2] < 80)
    assert reddish.sum() > 500


def test_empty_track_list_still_renders(tmp_path):
    out = render_piano_roll([], [], 30.0, tmp_path / "empty.png", title="nothing yet")
    assert Image.open(out).size == (1200, 420)
    out = render_piano_roll([TrackView("silent", "#ffffff")], [], 0.0, tmp_path / "zero.png")
    assert out.is_file()


def test_odd_inputs_are_tolerated(tmp_path):
    tracks = [TrackView("x" * 200, "#123456", False, [(-1.0, 500.0, 0, 0), (5.0, 5.0, 127, 127)]),
              TrackView("drums", "#abcdef", True, [(3.0, 3.1, 99, 64)])]  # fmt: skip
    sections = [(50.0, "after the end"), (0.0, "a very long section name " * 5), (1.0, "")]
    out = render_piano_roll(tracks, sections, 10.0, tmp_path / "odd.png", title="t" * 500)
    assert Image.open(out).size == (1200, 420)


def test_bad_colour_and_size_are_refused(tmp_path):
    with pytest.raises(RenderError, match="colour"):
        TrackView("bad", "not-a-colour")
    with pytest.raises(RenderError, match="size"):
        render_piano_roll([], [], 10.0, tmp_path / "tiny.png", width=10, height=10)


def test_tracks_from_midi():
    pretty_midi = pytest.importorskip("pretty_midi")
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0, name="piano")
    inst.notes.append(pretty_midi.Note(90, 60, 0.0, 1.0))
    pm.instruments += [inst, pretty_midi.Instrument(program=0, is_drum=True)]
    views = tracks_from_midi(pm)
    assert [v.name for v in views] == ["piano", "drums"]
    assert views[0].notes == [(0.0, 1.0, 60, 90)] and views[1].is_drum


def test_fast_enough_for_a_long_song(tmp_path):
    tracks = make_tracks(duration_s=60.0, n_notes=1500)
    render_piano_roll(tracks, SECTIONS, 60.0, tmp_path / "warm.png")  # load fonts once
    t0 = time.perf_counter()
    render_piano_roll(tracks, SECTIONS, 60.0, tmp_path / "roll.png")
    assert time.perf_counter() - t0 < 0.5  # target 0.15 s; generous for loaded CI machines

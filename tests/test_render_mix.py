"""The mix (CC7 per role from the loudness tables) and loudness normalisation."""

from __future__ import annotations

import copy
import ctypes.util
import importlib.util
import json

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from kotone.assets import ASSETS_DIR
from kotone.render import mix_calibrate
from kotone.render.audio import render_audio
from kotone.render.loudness import CEILING_DBFS, TARGET_LUFS, limit_peaks, normalize_loudness
from kotone.render.mix import (
    PRESENCE_MARGIN_DB,
    LoudnessTable,
    apply_mix,
    cc7_for_gain,
    load_table,
    mix_gains_db,
    plan_mix,
    renderer,
    table_name,
)
from kotone.render.soundfont import FALLBACK_SOUNDFONT, FLUIDSYNTH_SOUNDFONTS, MUSESCORE_GENERAL, PREFERRED_SOUNDFONTS
from kotone.render.stems import loudness_lufs, render_stems, stem_presence_db

needs_tsf = pytest.mark.skipif(importlib.util.find_spec("tinysoundfont") is None, reason="tinysoundfont not installed")
FONTS = list(dict.fromkeys([FALLBACK_SOUNDFONT.stem, *(p.stem for p in (*PREFERRED_SOUNDFONTS, *FLUIDSYNTH_SOUNDFONTS))]))
SHIPPED = [table_name(f, b) for f in FONTS for b in ("tinysoundfont", "libfluidsynth")]
HAVE_LIBFLUIDSYNTH = importlib.util.find_spec("fluidsynth") is not None and ctypes.util.find_library("fluidsynth") is not None
BACKENDS = [
    pytest.param("tinysoundfont", marks=needs_tsf),
    pytest.param("libfluidsynth", marks=pytest.mark.skipif(not HAVE_LIBFLUIDSYNTH, reason="libfluidsynth not installed")),
]


def band(lead_program: int = 73, pad_program: int = 61, pad_voices: int = 4, seconds: float = 8.0) -> pretty_midi.PrettyMIDI:
    """A soft flute tune over a dense brass pad: without a mix the pad buries the tune."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    lead = pretty_midi.Instrument(program=lead_program, name="lead")
    pad = pretty_midi.Instrument(program=pad_program, name="pad")
    for b in range(int(seconds * 2)):
        t = b * 0.5
        lead.notes.append(pretty_midi.Note(60, 72 + (0, 2, 4, 7)[b % 4], t, t + 0.4))
        if b % 4 == 0:
            pad.notes += [pretty_midi.Note(110, 60 + i, t, t + 2.0) for i in (0, 4, 7, 12)[:pad_voices]]
    pm.instruments = [lead, pad]
    return pm


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_loudness_tables_cover_every_program(name):
    raw = json.loads((ASSETS_DIR / "mix" / f"{name}.json").read_text())
    table = LoudnessTable.from_json(raw)
    assert table.programs["presence"].shape[0] == 128 and 0 in table.drums
    assert np.all(np.isfinite(table.programs["loudness"]))


@needs_tsf
def test_loudness_table_matches_the_soundfont_it_was_measured_on():
    """Re-measure a few notes: a stale table (SoundFont changed) fails here."""
    table = load_table(FALLBACK_SOUNDFONT.stem)
    import os

    os.environ["KOTONE_SOUNDFONT"] = str(FALLBACK_SOUNDFONT)
    try:
        for program, layer, k in ((0, 0, 6), (73, 1, 8)):
            v = int(table.velocities[layer])
            presence, loudness = mix_calibrate.measure(program, int(table.pitches[k]), mix_calibrate.DURATIONS_S, velocity=v)
            assert np.allclose(presence, table.programs["presence"][program][layer][k], atol=0.3)
            assert np.allclose(loudness, table.programs["loudness"][program][layer][k], atol=0.3)
    finally:
        del os.environ["KOTONE_SOUNDFONT"]


@pytest.mark.skipif(not (HAVE_LIBFLUIDSYNTH and MUSESCORE_GENERAL.is_file()), reason="libfluidsynth or MuseScore General not installed")
def test_fluidsynth_table_matches_musescore_general(monkeypatch):
    """The table FluidSynth's default SoundFont is mixed with, re-measured at a few notes."""
    monkeypatch.delenv("KOTONE_SOUNDFONT", raising=False)
    monkeypatch.setitem(mix_calibrate.BACKEND, "name", "libfluidsynth")
    table = load_table(table_name(MUSESCORE_GENERAL.stem, "libfluidsynth"))
    assert table.soundfont == MUSESCORE_GENERAL.name
    for program, layer, k in ((0, 1, 7), (73, 0, 8)):
        v = int(table.velocities[layer])
        presence, loudness = mix_calibrate.measure(program, int(table.pitches[k]), mix_calibrate.DURATIONS_S, velocity=v)
        assert np.allclose(presence, table.programs["presence"][program][layer][k], atol=0.3)
        assert np.allclose(loudness, table.programs["loudness"][program][layer][k], atol=0.3)


def test_the_mix_is_planned_for_the_synth_that_will_play_it(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tinysoundfont" else real_find_spec(name, *a))
    expected = "libfluidsynth" if real_find_spec("fluidsynth") else "fluidsynth"
    assert renderer() == expected
    assert table_name("FluidR3_GM", renderer()) == "FluidR3_GM.fluidsynth"


def test_cc7_follows_the_general_midi_curve():
    assert cc7_for_gain(0.0) == 127
    assert cc7_for_gain(-12.0) == pytest.approx(64, abs=1)
    assert cc7_for_gain(-200.0) == 1


def test_accompaniment_is_cut_below_the_lead_and_the_loudest_fader_is_full():
    gains = mix_gains_db(["melody", "pad", "bass"], [-30.0, -20.0, -28.0], [-35.0, -22.0, -50.0])
    assert max(gains) == 0.0
    lead_pres, pad_pres = -35.0 + gains[0], -22.0 + gains[1]
    assert lead_pres - pad_pres >= PRESENCE_MARGIN_DB - 1e-9
    assert mix_gains_db(["pad", "bass"], [-20.0, -20.0], [-20.0, -20.0]) == [0.0, 0.0]  # no lead: untouched


def test_denser_part_gets_a_lower_fader():
    table = load_table("FluidR3_GM")
    thin = plan_mix(band(pad_voices=1), ["melody", "pad"], table)
    dense = plan_mix(band(pad_voices=4), ["melody", "pad"], table)
    assert dense[1].cc7 < thin[1].cc7 and dense[0].cc7 == thin[0].cc7 == 127


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("lead", "pad"), [(73, 61), (0, 48), (24, 19)])
def test_the_mix_lifts_a_buried_lead_above_the_accompaniment(lead, pad, backend):
    """Stems rendered alone with the app's synth: lead - pad above 300 Hz."""
    pm = band(lead, pad)
    raw = stem_presence_db(render_stems(pm, backend=backend), 22050)
    mixed_pm = copy.deepcopy(pm)
    apply_mix(mixed_pm, ["melody", "pad"], backend=backend)
    mixed = stem_presence_db(render_stems(mixed_pm, backend=backend), 22050)
    assert mixed[0] - mixed[1] >= 3.0
    assert mixed[0] - mixed[1] > raw[0] - raw[1]


@needs_tsf
def test_a_composed_song_has_its_lead_on_top():
    """The issue's darkest case (noir, piano, melancholy, rain; seed 1)."""
    from kotone.pipeline import compose
    from kotone.render.midi import midi_track_roles

    song = compose({"style": "style_noir", "instrument": "instrument_piano", "mood": "mood_melancholy",
                    "gimmick": "gimmick_rain"}, 1)  # fmt: skip
    roles = midi_track_roles(song.plan, song.midi)
    levels = stem_presence_db(render_stems(song.midi), 22050)
    lead = levels[roles.index("melody")]
    assert all(lead - db >= 3.0 for role, db in zip(roles, levels, strict=True) if role != "melody")
    assert all(any(c.number == 7 for c in inst.control_changes) for inst in song.midi.instruments)


def test_the_mix_leaves_what_is_measured_unchanged():
    """Faders are CC7 only: notes and velocities (read by the measurement) stay as played."""
    from kotone.music.measure import measure
    from kotone.pipeline import compose
    from kotone.render.midi import build_midi

    song = compose({"style": "style_club", "instrument": "instrument_brass", "mood": "mood_triumphant",
                    "gimmick": "gimmick_double_time"}, 4)  # fmt: skip
    mixed, dry = build_midi(song.plan, song.tracks), build_midi(song.plan, song.tracks, mix=False)
    assert any(c.number == 7 and c.value < 127 for i in mixed.instruments for c in i.control_changes)
    assert measure(mixed)[0] == measure(dry)[0]


@needs_tsf
@pytest.mark.parametrize(("program", "velocity"), [(0, 30), (61, 127), (73, 70)])
def test_every_song_leaves_at_the_target_loudness(tmp_path, program, velocity):
    pm = band(program, 48)
    for note in pm.instruments[0].notes + pm.instruments[1].notes:
        note.velocity = velocity
    result = render_audio(pm, tmp_path)
    data, rate = sf.read(str(result.path), dtype="float32", always_2d=True)
    assert loudness_lufs(data, rate) == pytest.approx(TARGET_LUFS, abs=1.5)
    assert float(np.max(np.abs(data))) <= 10 ** ((CEILING_DBFS + 0.3) / 20)


def test_normalise_turns_quiet_and_loud_to_one_loudness():
    rng = np.random.default_rng(0)
    t = np.arange(5 * 22050) / 22050
    outs = []
    for amp in (0.01, 0.5):
        x = (amp * np.sin(2 * np.pi * 330 * t) * (1 + 0.3 * rng.standard_normal(len(t)))).astype(np.float32)[:, None]
        y, report = normalize_loudness(x, 22050)
        outs.append(loudness_lufs(y, 22050))
        assert report.measured_lufs < TARGET_LUFS or amp == 0.5
    assert outs[0] == pytest.approx(TARGET_LUFS, abs=0.3) and outs[1] == pytest.approx(TARGET_LUFS, abs=0.3)


def test_limiter_holds_the_ceiling_and_leaves_the_rest_alone():
    x = np.full((22050, 1), 0.1, dtype=np.float32)
    x[11025] = 3.0
    y, reduced = limit_peaks(x, 22050, -1.0)
    assert float(np.max(np.abs(y))) <= 10 ** (-1 / 20) + 1e-6
    assert reduced > 10.0
    assert np.allclose(y[:10000], x[:10000]) and np.allclose(y[-10000:], x[-10000:])
    assert limit_peaks(x * 0.1, 22050, -1.0)[1] == 0.0


def test_silence_is_not_blown_up():
    y, report = normalize_loudness(np.zeros((22050, 1), dtype=np.float32), 22050)
    assert not np.any(y) and report.gain_db == 0.0


@pytest.mark.parametrize("case", ["noise", "quiet_start", "gap", "stereo", "short", "silence", "44k"])
def test_fast_loudness_meter_agrees_with_pyloudnorm(case):
    from kotone.render.loudness import integrated_loudness

    rng = np.random.default_rng(5)
    rate = 44100 if case == "44k" else 22050
    x = (rng.standard_normal(rate * 20) * 0.1).astype(np.float32)
    if case == "quiet_start":
        x[: rate * 8] *= 1e-3  # under the relative gate
    elif case == "gap":
        x[rate * 5 : rate * 12] = 0.0  # under the absolute gate
    elif case == "stereo":
        x = np.stack([x, 0.5 * x[::-1]], axis=1)
    elif case == "short":
        x = x[: int(0.41 * rate)]
    elif case == "silence":
        x = np.zeros(rate * 2, dtype=np.float32)
    ref, fast = loudness_lufs(x, rate), integrated_loudness(x, rate)
    assert ref == fast if not np.isfinite(ref) else abs(ref - fast) < 1e-3


@pytest.mark.parametrize("n_peaks", [1, 5, 400])  # 400: past MAX_SPANS, the whole song at once
def test_limiter_around_the_peaks_equals_the_limiter_over_the_whole_song(n_peaks):
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    from kotone.render.loudness import LOOKAHEAD_S

    rng = np.random.default_rng(n_peaks)
    x = (rng.standard_normal((22050 * 30, 1)) * 0.05).astype(np.float32)
    at = rng.choice(len(x), n_peaks, replace=False)
    x[at, 0] = rng.uniform(1.0, 3.0, n_peaks) * rng.choice([-1, 1], n_peaks)
    y, reduced = limit_peaks(x, 22050, -1.0)
    ceiling = 10 ** (-1 / 20)
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(x[:, 0]), 1e-12))  # the whole-song reference
    width = 2 * round(LOOKAHEAD_S * 22050) + 1
    gain = np.minimum(uniform_filter1d(minimum_filter1d(need, width, mode="nearest"), width, mode="nearest"), need)
    assert np.array_equal(y, (x * gain[:, None]).astype(np.float32))
    assert reduced == pytest.approx(-20 * np.log10(gain.min()))

"""Rendering of finished songs: MIDI with its mix, bounded audio, a piano-roll image.

- :mod:`kotone.render.midi`: notes -> MIDI file, with each track's fader (CC7)
- :mod:`kotone.render.mix`: the faders, from per-role levels and the SoundFont's loudness
  table (``space_assets/mix/``, written by :mod:`kotone.render.mix_calibrate`)
- :mod:`kotone.render.audio`: ``render_audio`` (MP3/OGG/WAV, optional effects)
- :mod:`kotone.render.soundfont`: the GM SoundFont (parsed once) and the synthesizers
- :mod:`kotone.render.loudness`: loudness normalisation and the peak limiter
- :mod:`kotone.render.stems`: level meters and one-track-at-a-time renders
- :mod:`kotone.render.pianoroll`: ``render_piano_roll`` / ``render_thumbnail`` (PNG)

Submodules are imported on demand, so that drawing a piano roll does not load scipy.
"""

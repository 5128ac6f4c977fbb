"""Rendering of finished songs: bounded MIDI -> audio and a piano-roll image.

- :mod:`kotone.render.audio`: ``render_audio`` (OGG/WAV/MP3, optional effects)
- :mod:`kotone.render.soundfont`: the GM SoundFont and the synthesizer backends
- :mod:`kotone.render.pianoroll`: ``render_piano_roll`` / ``render_thumbnail`` (PNG)

Submodules are imported on demand, so that drawing a piano roll does not load scipy.
"""

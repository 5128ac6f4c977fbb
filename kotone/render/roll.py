"""Piano-roll images of a composed song: tracks in their role's colour, section boundaries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kotone.render.pianoroll import TrackView, render_piano_roll, render_thumbnail

if TYPE_CHECKING:
    from kotone.pipeline import Song


# one colour per track role (the plan's tracks follow the MIDI file's order)
ROLE_COLORS = {
    "melody": "#ffb454", "harmony": "#59c2ff", "bass": "#aad94c", "drums": "#f07178", "percussion": "#e6b673",
    "pad": "#d2a6ff", "counter": "#95e6cb", "texture": "#b8c4d6",
}


def song_track_views(song: Song) -> list[TrackView]:
    roles = [t.role for t in song.plan.tracks]
    views = []
    for k, inst in enumerate(song.midi.instruments):
        role = roles[k] if k < len(roles) else ""
        views.append(TrackView(
            name=inst.name, color=ROLE_COLORS.get(role, "#cccccc"), is_drum=inst.is_drum,
            notes=[(n.start, n.end, n.pitch, n.velocity) for n in inst.notes],
        ))
    return views


def song_sections(song: Song) -> list[tuple[float, str]]:
    spb = 60.0 / song.plan.tempo_bpm
    return [(s.start_beat * spb, s.section_type) for s in song.plan.sections]


def render_song_roll(song: Song, out_dir: Path, images: Sequence[str] = ("roll.png", "thumb.png")) -> dict[str, Path]:
    """Draw the named images (``roll.png``: the full roll, ``thumb.png``: the preview)."""
    views, sections = song_track_views(song), song_sections(song)
    files: dict[str, Path] = {}
    if "roll.png" in images:
        title = f"{song.plan.title} · {song.plan.key_name} · {song.plan.tempo_bpm:.0f} bpm"
        files["roll.png"] = render_piano_roll(views, sections, song.duration_s, out_dir / "roll.png", title=title)
    if "thumb.png" in images:
        files["thumb.png"] = render_thumbnail(views, sections, song.duration_s, out_dir / "thumb.png",
                                              title=song.plan.title)
    return files

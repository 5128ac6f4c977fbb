"""Piano-roll images of a composed song: tracks in their plan colours, section boundaries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kotone.render.pianoroll import TrackView, render_piano_roll, render_thumbnail

if TYPE_CHECKING:
    from kotone.pipeline import Song


def song_track_views(song: Song) -> list[TrackView]:
    colors = {t.name: t.color for t in song.plan.tracks}
    views = []
    for inst in song.midi.instruments:
        views.append(TrackView(
            name=inst.name, color=colors.get(inst.name, "#cccccc"), is_drum=inst.is_drum,
            notes=[(n.start, n.end, n.pitch, n.velocity) for n in inst.notes],
        ))
    return views


def song_sections(song: Song) -> list[tuple[float, str]]:
    spb = 60.0 / song.plan.tempo_bpm
    return [(s.start_beat * spb, s.section_type) for s in song.plan.sections]


def render_song_roll(song: Song, out_dir: Path) -> dict[str, Path]:
    views, sections = song_track_views(song), song_sections(song)
    title = f"{song.plan.title} · {song.plan.key_name} · {song.plan.tempo_bpm:.0f} bpm"
    roll = render_piano_roll(views, sections, song.duration_s, out_dir / "roll.png", title=title)
    thumb = render_thumbnail(views, sections, song.duration_s, out_dir / "thumb.png", title=song.plan.title)
    return {"roll.png": roll, "thumb.png": thumb}

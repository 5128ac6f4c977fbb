"""Piano-roll preview images drawn with Pillow (no matplotlib): fast and shareable.

Layout, top to bottom: a header (title left, legend of tracks right), a strip of section
names, the pitched notes (pitch range fitted to the notes, a line and label at every C),
a drum lane (kick / snare / hats+cymbals / other percussion) and a time axis in m:ss.
Times are in seconds; pitches and velocities are MIDI numbers (0-127).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFont

from kotone.domain.errors import RenderError

NoteSpan = tuple[float, float, int, int]
"""``(start_s, end_s, pitch, velocity)``."""

BACKGROUND = (23, 25, 35)
PLOT_BG = (28, 31, 44)
BLACK_KEY_BG = (24, 27, 38)
SECTION_TINT = (255, 255, 255, 9)
GRID = (255, 255, 255, 18)
C_LINE = (190, 200, 225, 70)
TEXT = (222, 226, 238)
MUTED = (140, 148, 170)
PALETTE = ("#f4a261", "#8ecae6", "#b5e48c", "#cdb4db", "#ffd166", "#ef476f", "#06d6a0", "#e9c46a")

# Drum lane rows: (label, GM percussion keys). Keys not listed go to the last row.
DRUM_ROWS = (
    ("kick", frozenset({35, 36})),
    ("snare", frozenset({37, 38, 39, 40})),
    ("hats", frozenset({42, 44, 46, 49, 51, 52, 53, 55, 57, 59})),
    ("perc", frozenset()),
)


@dataclass
class TrackView:
    """What the piano roll needs of one track. ``color`` is ``'#rrggbb'``."""

    name: str
    color: str
    is_drum: bool = False
    notes: list[NoteSpan] = field(default_factory=list)
    rgb: tuple[int, int, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            r, g, b = ImageColor.getrgb(self.color)[:3]
            self.rgb = (r, g, b)
        except ValueError:
            raise RenderError(f"track {self.name!r}: colour must be '#rrggbb', got {self.color!r}") from None


FONT_ENV = "KOTONE_FONT"
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Japanese names, if installed
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
)
# Pillow's built-in font lacks typographic punctuation; these read the same in ASCII.
_ASCII_PUNCT = str.maketrans({"\u2014": "-", "\u2013": "-", "\u2018": "'", "\u2019": "'",
                              "\u201c": '"', "\u201d": '"', "\u2026": "..."})  # fmt: skip
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=1)
def _font_path() -> str | None:
    """A TrueType font with wide Unicode coverage: ``$KOTONE_FONT``, a system font, or None."""
    override = os.environ.get(FONT_ENV)
    for path in ((override,) if override else ()) + FONT_CANDIDATES:
        if Path(path).is_file():
            return path
    return None


@lru_cache(maxsize=16)
def _font(size: int) -> Font:
    path = _font_path()
    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def _text(text: str) -> str:
    """``text`` made drawable: typographic punctuation as ASCII with the built-in font."""
    return text if _font_path() is not None else text.translate(_ASCII_PUNCT)


@dataclass(frozen=True)
class _Frame:
    """Pixel geometry of one image; ``x``/``y`` map seconds and pitches to pixels."""

    width: int
    height: int
    scale: float
    left: int
    right: int
    header_h: int
    section_h: int
    plot_top: int
    plot_bottom: int
    drum_top: int
    drum_bottom: int
    duration_s: float
    lo: int
    hi: int

    @property
    def row_h(self) -> float:
        return (self.plot_bottom - self.plot_top) / (self.hi - self.lo + 1)

    def x(self, t_s: float) -> float:
        t = min(max(t_s, 0.0), self.duration_s)
        return self.left + t / self.duration_s * (self.right - self.left)

    def y(self, pitch: int) -> float:
        """Top edge of the row of ``pitch``."""
        return self.plot_top + (self.hi - pitch) * self.row_h


def _pitch_range(tracks: Sequence[TrackView], min_span: int = 24) -> tuple[int, int]:
    pitches = [p for tr in tracks if not tr.is_drum for _, _, p, _ in tr.notes]
    if not pitches:
        return 48, 48 + min_span
    lo, hi = min(pitches) - 2, max(pitches) + 2
    if hi - lo < min_span:
        grow = min_span - (hi - lo)
        lo, hi = lo - grow // 2, hi + grow - grow // 2
    return max(0, lo), min(127, hi)


def _layout(tracks: Sequence[TrackView], has_sections: bool, duration_s: float,
            width: int, height: int) -> _Frame:  # fmt: skip
    s = min(width / 1200, height / 420)
    has_drums = any(tr.is_drum and tr.notes for tr in tracks)
    header_h = round(26 * s)
    section_h = round(18 * s) if has_sections else 0
    axis_h = round(20 * s)
    drum_h = round(46 * s) if has_drums else 0
    plot_top = header_h + section_h
    drum_bottom = height - axis_h
    drum_top = drum_bottom - drum_h
    plot_bottom = drum_top - (round(4 * s) if has_drums else 0)
    lo, hi = _pitch_range(tracks)
    return _Frame(width, height, s, round(42 * s), width - round(12 * s), header_h, section_h,
                  plot_top, plot_bottom, drum_top, drum_bottom, duration_s, lo, hi)  # fmt: skip


def render_piano_roll(
    tracks: Sequence[TrackView],
    sections: Sequence[tuple[float, str]],
    duration_s: float,
    out_path: Path,
    *,
    width: int = 1200,
    height: int = 420,
    title: str = "",
) -> Path:
    """Draw a piano roll of ``tracks`` over ``duration_s`` seconds and save it as PNG.

    ``sections`` are ``(start_s, name)`` pairs. Returns ``out_path``.
    """
    if not (160 <= width <= 4000 and 80 <= height <= 2000):
        raise RenderError(f"piano roll size must be 160-4000 x 80-2000 px, got {width}x{height}")
    last_end = max((end for tr in tracks for _, end, _, _ in tr.notes), default=0.0)
    duration_s = duration_s if duration_s > 0 else max(last_end, 1.0)
    frame = _layout(tracks, bool(sections), duration_s, width, height)
    img = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(img, "RGBA")
    _draw_background(draw, frame)
    _draw_sections(draw, frame, sections)
    _draw_time_axis(draw, frame)
    _draw_pitch_grid(draw, frame)
    for tr in tracks:
        (_draw_drums if tr.is_drum else _draw_notes)(draw, frame, tr)
    if not any(tr.notes for tr in tracks):
        _centered(draw, frame, "no notes yet")
    _draw_header(draw, frame, tracks, title)
    out_path = Path(out_path)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        img.save(out_path, format="PNG", compress_level=3)
    except OSError as exc:
        raise RenderError(f"cannot write piano roll to {out_path}: {exc}") from exc
    return out_path


def render_thumbnail(
    tracks: Sequence[TrackView],
    sections: Sequence[tuple[float, str]],
    duration_s: float,
    out_path: Path,
    *,
    width: int = 600,
    height: int = 210,
    title: str = "",
) -> Path:
    """A small preview (600 x 210 px by default) with the same layout, scaled down."""
    return render_piano_roll(tracks, sections, duration_s, out_path, width=width, height=height, title=title)


def tracks_from_midi(pm: object, colors: Sequence[str] = PALETTE) -> list[TrackView]:
    """TrackViews of a :class:`pretty_midi.PrettyMIDI`, coloured from ``colors`` in order."""
    views = []
    for i, inst in enumerate(pm.instruments):  # type: ignore[attr-defined]
        notes = [(n.start, n.end, n.pitch, n.velocity) for n in inst.notes]
        name = inst.name or ("drums" if inst.is_drum else f"program {inst.program}")
        views.append(TrackView(name, colors[i % len(colors)], inst.is_drum, notes))
    return views


# ------------------------------------------------------------------------------ drawing


def _draw_background(draw: ImageDraw.ImageDraw, f: _Frame) -> None:
    draw.rectangle((f.left, f.plot_top, f.right, f.plot_bottom), fill=PLOT_BG)
    if f.row_h >= 3:  # faint bands on the black keys, like a keyboard turned sideways
        for p in range(f.lo, f.hi + 1):
            if p % 12 in (1, 3, 6, 8, 10):
                y = f.y(p)
                draw.rectangle((f.left, y, f.right, y + f.row_h - 1), fill=BLACK_KEY_BG)
    if f.drum_bottom > f.drum_top:
        draw.rectangle((f.left, f.drum_top, f.right, f.drum_bottom), fill=PLOT_BG)


def _draw_pitch_grid(draw: ImageDraw.ImageDraw, f: _Frame) -> None:
    font = _font(max(8, round(10 * f.scale)))
    for p in range(f.lo, f.hi + 1):
        if p % 12 == 0:
            y = f.y(p) + f.row_h
            draw.line((f.left, y, f.right, y), fill=C_LINE, width=1)
            draw.text((f.left - 4, y - f.row_h / 2), f"C{p // 12 - 1}", font=font, fill=MUTED, anchor="rm")


def _draw_sections(draw: ImageDraw.ImageDraw, f: _Frame, sections: Sequence[tuple[float, str]]) -> None:
    font = _font(max(8, round(11 * f.scale)))
    bounds = sorted((max(0.0, t), name) for t, name in sections if t < f.duration_s)
    for i, (start_s, name) in enumerate(bounds):
        x0 = f.x(start_s)
        x1 = f.x(bounds[i + 1][0]) if i + 1 < len(bounds) else f.right
        if i % 2 == 1:
            draw.rectangle((x0, f.plot_top, x1, f.drum_bottom), fill=SECTION_TINT)
        if start_s > 0:
            draw.line((x0, f.header_h, x0, f.drum_bottom), fill=(255, 255, 255, 60), width=1)
        label = _fit_text(name, font, x1 - x0 - 6)
        if label:
            draw.text((x0 + 4, f.header_h + f.section_h / 2), label, font=font, fill=TEXT, anchor="lm")


def _draw_time_axis(draw: ImageDraw.ImageDraw, f: _Frame) -> None:
    font = _font(max(8, round(10 * f.scale)))
    max_ticks = max(3, (f.right - f.left) // max(40, round(90 * f.scale)))
    step = next((s for s in (1, 2, 5, 10, 15, 20, 30, 60, 120) if f.duration_s / s <= max_ticks), 300)
    t = 0
    while t <= f.duration_s + 1e-6:
        x = f.x(t)
        draw.line((x, f.plot_top, x, f.drum_bottom), fill=GRID, width=1)
        draw.line((x, f.drum_bottom, x, f.drum_bottom + round(4 * f.scale)), fill=MUTED, width=1)
        label = f"{int(t) // 60}:{int(t) % 60:02d}"
        anchor = "rt" if x + font.getlength(label) / 2 > f.width - 2 else "mt"
        draw.text((x, f.drum_bottom + round(5 * f.scale)), label, font=font, fill=MUTED, anchor=anchor)
        t += step


def _note_fill(rgb: tuple[int, int, int], velocity: int) -> tuple[int, int, int, int]:
    return (*rgb, 110 + round(145 * min(max(velocity, 0), 127) / 127))


def _draw_notes(draw: ImageDraw.ImageDraw, f: _Frame, track: TrackView) -> None:
    bar_h = max(2.0, f.row_h - 1)
    for start_s, end_s, pitch, velocity in track.notes:
        if start_s >= f.duration_s or not f.lo <= pitch <= f.hi:
            continue
        x0, x1 = f.x(start_s), max(f.x(end_s) - 1, f.x(start_s) + 1)
        y0 = f.y(pitch) + (f.row_h - bar_h) / 2
        box, fill = (x0, y0, x1, y0 + bar_h), _note_fill(track.rgb, velocity)
        radius = min(2.0, bar_h / 3, (x1 - x0) / 3)
        if radius >= 1:
            draw.rounded_rectangle(box, radius=int(radius), fill=fill)
        else:
            draw.rectangle(box, fill=fill)


def _drum_row(pitch: int) -> int:
    for i, (_, keys) in enumerate(DRUM_ROWS[:-1]):
        if pitch in keys:
            return i
    return len(DRUM_ROWS) - 1


def _draw_drums(draw: ImageDraw.ImageDraw, f: _Frame, track: TrackView) -> None:
    lane_h = (f.drum_bottom - f.drum_top) / len(DRUM_ROWS)
    if lane_h <= 0:
        return
    font = _font(max(7, round(9 * f.scale)))
    if lane_h >= 8:  # row labels only where they fit (not in thumbnails)
        for i, (label, _) in enumerate(DRUM_ROWS):
            y = f.drum_top + (i + 0.5) * lane_h
            draw.text((f.left - 4, y), label, font=font, fill=MUTED, anchor="rm")
    tick_w = max(1.0, 2 * f.scale)
    for start_s, _, pitch, velocity in track.notes:
        if start_s >= f.duration_s:
            continue
        x, row = f.x(start_s), _drum_row(pitch)
        y0 = f.drum_top + row * lane_h + 1
        draw.rectangle((x, y0, x + tick_w, y0 + lane_h - 2), fill=_note_fill(track.rgb, velocity))


def _draw_header(draw: ImageDraw.ImageDraw, f: _Frame, tracks: Sequence[TrackView], title: str) -> None:
    font = _font(max(8, round(11 * f.scale)))
    mid = f.header_h / 2
    sw = max(6, round(10 * f.scale))
    x = f.right
    legend_left = f.right
    for tr in reversed(tracks):
        name = _fit_text(tr.name, font, 140 * f.scale)
        text_w = font.getlength(name)
        need = sw + 4 + text_w + round(12 * f.scale)
        if x - need < f.width * 0.45:
            break
        x -= need
        draw.rounded_rectangle((x, mid - sw / 2, x + sw, mid + sw / 2), radius=2, fill=(*tr.rgb, 255))
        draw.text((x + sw + 4, mid), name, font=font, fill=TEXT, anchor="lm")
        legend_left = x
    if title:
        title_font = _font(max(9, round(14 * f.scale)))
        label = _fit_text(title, title_font, legend_left - round(10 * f.scale) - 12)
        draw.text((round(10 * f.scale), mid), label, font=title_font, fill=TEXT, anchor="lm")


def _centered(draw: ImageDraw.ImageDraw, f: _Frame, text: str) -> None:
    font = _font(max(9, round(14 * f.scale)))
    center = ((f.left + f.right) / 2, (f.plot_top + f.plot_bottom) / 2)
    draw.text(center, text, font=font, fill=MUTED, anchor="mm")


def _fit_text(text: str, font: Font, max_w: float) -> str:
    """``text`` shortened with an ellipsis to fit ``max_w`` pixels, or "" if nothing fits."""
    text, dots = _text(text), _text("\u2026")
    if font.getlength(text) <= max_w:
        return text
    while text and font.getlength(text + dots) > max_w:
        text = text[:-1]
    return text + dots if text else ""

"""Form: which sections a song has, how long each is, and which earlier section each
returning one brings back.

Forms are data (``FORMS``): per style form, a list of layouts from the longest to the
shortest; every layout brings its main theme back at least once. Sections are built of 4-
and 8-bar phrases (12 bars for a blues chorus). The layout and the phrase unit are chosen so
the song lasts as close to a drawn target as the tempo allows, inside 45-120 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SECONDS, MAX_SECONDS = 45.0, 120.0
TARGET_SECONDS = (55.0, 85.0)

# (section type, form letter). "I" intro and "O" outro frame the letters; a letter that
# appears again is a return of its first appearance.
Layout = tuple[tuple[str, str], ...]
FORMS: dict[str, tuple[Layout, ...]] = {
    "verse_chorus": (
        (("intro", "I"), ("verse", "A"), ("chorus", "B"), ("verse", "A"), ("chorus", "B"), ("bridge", "C"),
         ("chorus", "B"), ("outro", "O")),
        (("intro", "I"), ("verse", "A"), ("chorus", "B"), ("verse", "A"), ("chorus", "B"), ("outro", "O")),
        (("intro", "I"), ("verse", "A"), ("chorus", "B"), ("chorus", "B"), ("outro", "O")),
        (("verse", "A"), ("chorus", "B"), ("chorus", "B"), ("outro", "O")),
    ),
    # jigs, reels, marches and baroque dances: each strain played twice, the A strain again
    "aabb": (
        (("intro", "I"), ("verse", "A"), ("verse", "A"), ("chorus", "B"), ("chorus", "B"), ("verse", "A"),
         ("outro", "O")),
        (("intro", "I"), ("verse", "A"), ("verse", "A"), ("chorus", "B"), ("chorus", "B"), ("outro", "O")),
        (("verse", "A"), ("verse", "A"), ("chorus", "B"), ("chorus", "B"), ("outro", "O")),
        (("verse", "A"), ("chorus", "B"), ("verse", "A"), ("outro", "O")),
    ),
    # ballads, standards, waltzes: the A tune, again, a bridge, the A tune to close
    "aaba": (
        (("intro", "I"), ("verse", "A"), ("verse", "A"), ("bridge", "B"), ("verse", "A"), ("bridge", "B"),
         ("verse", "A"), ("outro", "O")),
        (("intro", "I"), ("verse", "A"), ("verse", "A"), ("bridge", "B"), ("verse", "A"), ("outro", "O")),
        (("verse", "A"), ("verse", "A"), ("bridge", "B"), ("verse", "A"), ("outro", "O")),
        (("verse", "A"), ("bridge", "B"), ("verse", "A"), ("outro", "O")),
    ),
    # 12-bar choruses: the head twice, a chorus with a new line over the same changes, the head
    "blues12": (
        (("intro", "I"), ("chorus", "A"), ("chorus", "A"), ("verse", "B"), ("chorus", "A"), ("outro", "O")),
        (("intro", "I"), ("chorus", "A"), ("chorus", "A"), ("outro", "O")),
        (("chorus", "A"), ("chorus", "A"), ("outro", "O")),
    ),
}
MAIN_BARS = {"verse_chorus": (8, 4), "aabb": (8, 4), "aaba": (8, 4), "blues12": (12,)}


@dataclass(frozen=True)
class FormSection:
    section_id: str
    section_type: str
    label: str
    bars: int
    repeat_of: str | None


def _bars_for(kind: str, form: str, unit: int) -> int:
    if kind in ("intro", "outro"):
        return 4 if unit >= 8 else 2
    return unit


def layout_bars(form: str, layout: Layout, unit: int) -> int:
    return sum(_bars_for(kind, form, unit) for kind, _ in layout)


def choose_layout(form: str, tempo_bpm: float, beats_per_bar: float, rng: np.random.Generator,
                  need_intro: bool = False) -> tuple[Layout, int]:
    """The (layout, phrase unit) whose length is nearest a drawn target inside 45-120 s."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; forms are {sorted(FORMS)}")
    target = float(rng.uniform(*TARGET_SECONDS))
    bar_s = beats_per_bar * 60.0 / tempo_bpm
    best, best_cost = None, float("inf")
    for layout in FORMS[form]:
        if need_intro and layout[0][0] != "intro":
            continue
        for unit in MAIN_BARS[form]:
            seconds = layout_bars(form, layout, unit) * bar_s
            outside = max(0.0, MIN_SECONDS - seconds, seconds - MAX_SECONDS)
            # 8-bar phrases read as songs; 4-bar ones only when the tempo leaves no room
            cost = 1000.0 * outside + abs(seconds - target) + (20.0 if unit == 4 else 0.0)
            if cost < best_cost:
                best, best_cost = (layout, unit), cost
    assert best is not None
    return best


def build_form(form: str, tempo_bpm: float, beats_per_bar: float, rng: np.random.Generator,
               need_intro: bool = False) -> list[FormSection]:
    """The song's sections in order, with ids, lengths and returns."""
    layout, unit = choose_layout(form, tempo_bpm, beats_per_bar, rng, need_intro)
    seen_kind: dict[str, int] = {}
    first_of_label: dict[str, str] = {}
    out = []
    for kind, label in layout:
        seen_kind[kind] = seen_kind.get(kind, 0) + 1
        sid = kind if seen_kind[kind] == 1 else f"{kind}_{seen_kind[kind]}"
        repeat_of = first_of_label.get(label) if label not in ("I", "O") else None
        first_of_label.setdefault(label, sid)
        out.append(FormSection(sid, kind, label, _bars_for(kind, form, unit), repeat_of))
    return out


def main_theme_label(sections: list[FormSection] | list) -> str:
    """The letter that returns most often (the chorus of a song, the A strain of a tune)."""
    labels = [s.label for s in sections if s.label not in ("I", "O")]
    return max(dict.fromkeys(labels), key=lambda x: (labels.count(x), -labels.index(x)))


def final_statement_index(sections: list) -> int | None:
    """Index of the last return before the outro (the section a key change lifts)."""
    for i in range(len(sections) - 1, -1, -1):
        if sections[i].repeat_of is not None:
            return i
    return None

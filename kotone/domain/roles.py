"""The one table of track roles: plan order, generation order, random salt, sounding weight,
and what each role is allowed to do relative to the lead.

Every list of roles in the code reads this table; nothing else enumerates roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RoleName = Literal["melody", "harmony", "bass", "drums", "percussion", "pad", "counter", "texture"]


@dataclass(frozen=True)
class RoleInfo:
    """One track role.

    ``plan_order``: position of its track in the plan and the MIDI file.
    ``gen_order``: position in a section's generation (the tune comes before the parts
    arranged around it). ``salt``: stable random salt (never renumber: stored songs replay
    from it). ``sounding_weight``: its share of the song's sounding time relative to the
    melody (chords sound several notes at once), for the band's timbre. ``pitched``: plays
    pitches that the harmony and the ranges apply to. ``accompanies``: must stay below the
    lead (an ornament such as bells or rain droplets may sit above it). ``regenerate_for``:
    the critic's dimensions that send this role back for another take.
    """

    name: RoleName
    plan_order: int
    gen_order: int
    salt: int
    sounding_weight: float
    pitched: bool
    accompanies: bool
    regenerate_for: tuple[str, ...] = ()


ROLES: dict[str, RoleInfo] = {r.name: r for r in (
    RoleInfo("melody", 0, 1, 5, 1.0, True, False, ("melody", "density")),
    RoleInfo("harmony", 1, 5, 3, 3.0, True, True, ("harmony", "density")),
    RoleInfo("bass", 2, 4, 2, 1.0, True, True, ("harmony",)),
    RoleInfo("drums", 3, 0, 1, 0.36, False, False, ("rhythm",)),
    RoleInfo("percussion", 4, 8, 8, 0.3, True, False, ()),  # a tuned drum (taiko): tuned last, clear of all
    RoleInfo("pad", 5, 6, 4, 5.5, True, True, ()),
    RoleInfo("counter", 6, 3, 6, 0.8, True, True, ()),
    RoleInfo("texture", 7, 7, 7, 0.5, True, False, ()),
)}

PLAN_ORDER: tuple[str, ...] = tuple(sorted(ROLES, key=lambda r: ROLES[r].plan_order))
GEN_ORDER: tuple[str, ...] = tuple(sorted(ROLES, key=lambda r: ROLES[r].gen_order))
ACCOMPANIMENT: frozenset[str] = frozenset(r for r, info in ROLES.items() if info.accompanies)


def role_info(role: str) -> RoleInfo:
    try:
        return ROLES[role]
    except KeyError:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(PLAN_ORDER)}") from None

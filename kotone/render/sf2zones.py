"""Velocity layers of a SoundFont's presets, read from its ``pdta`` chunk.

TinySoundFont picks a preset's regions by key and by ``int(gain * 127)`` (the velocity it
derives from the note-on gain) against each zone's ``velRange``; within one velocity layer
a note's sound only scales with its gain. :func:`preset_layers` gives, per preset, the
velocities where the set of zones can change (notes between two splits sound alike up to a
level) and the keys whose zones carry an exclusive class (such a note cuts off others), which
:mod:`kotone.render.notecache` relies on.

Only the preset/instrument hierarchy is read (SoundFont 2.04, section 7); samples are not.
SF3 files share the layout. A file that cannot be read gives an empty table, which callers
treat as "every velocity its own layer".
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

GEN_INSTRUMENT, GEN_KEY_RANGE, GEN_VEL_RANGE, GEN_EXCLUSIVE_CLASS = 41, 43, 44, 57
DRUM_BANK = 128
_PHDR, _BAG, _GEN, _INST = 38, 4, 4, 22  # record sizes in bytes


class SoundFontFormatError(ValueError):
    """The file is not a SoundFont whose preset tables can be read."""


def _chunks(data: bytes, start: int, end: int) -> dict[str, tuple[int, int]]:
    """Sub-chunks of a RIFF list body: id -> (offset, size)."""
    out: dict[str, tuple[int, int]] = {}
    pos = start
    while pos + 8 <= end:
        cid = data[pos : pos + 4].decode("latin-1")
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if body + size > end:
            raise SoundFontFormatError(f"chunk {cid!r} runs past its list")
        if cid == "LIST":
            out[data[body : body + 4].decode("latin-1")] = (body + 4, size - 4)
        else:
            out[cid] = (body, size)
        pos = body + size + (size & 1)
    return out


def _records(data: bytes, table: dict[str, tuple[int, int]], cid: str, size: int) -> list[tuple[int, int]]:
    """(offset, count) of a fixed-size record table is turned into offsets."""
    if cid not in table:
        raise SoundFontFormatError(f"no {cid!r} chunk")
    off, n = table[cid]
    if n % size:
        raise SoundFontFormatError(f"{cid!r} is not a whole number of records")
    return [(off + i * size, i) for i in range(n // size)]


def _pdta(path: Path) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """The ``pdta`` list of the file (the rest is skipped, not read)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise SoundFontFormatError("not a RIFF sfbk file")
        while True:
            hdr = f.read(12)
            if len(hdr) < 8:
                raise SoundFontFormatError("no pdta list")
            cid, size = hdr[:4], struct.unpack_from("<I", hdr, 4)[0]
            if cid == b"LIST" and hdr[8:12] == b"pdta":
                body = f.read(size - 4)
                if len(body) != size - 4:
                    raise SoundFontFormatError("pdta list is cut short")
                return body, _chunks(body, 0, len(body))
            f.seek(size - 4 if cid == b"LIST" else size - 4 + (size & 1), 1)


@dataclass(frozen=True)
class PresetLayers:
    """What decides which zones of one preset sound: ``splits``, the velocities (1-127) at
    which a new velocity layer may begin; ``exclusive_keys``, keys whose zones carry an
    exclusive class (a hi-hat that a closed hi-hat cuts off: such notes interact)."""

    splits: tuple[int, ...]
    exclusive_keys: frozenset[int]


def _zones(data: bytes, bags: list[int], gens: list[tuple[int, int]], first: int,
           last: int) -> list[dict[int, tuple[int, int]]]:  # fmt: skip
    """Each zone's generators ``oper -> (low byte, high byte)`` for bags ``first``..``last - 1``."""
    return [{gens[g][0]: (data[gens[g][1]], data[gens[g][1] + 1]) for g in range(bags[b], bags[b + 1])}
            for b in range(first, last)]  # fmt: skip


def read_preset_layers(path: Path) -> dict[tuple[int, int], PresetLayers]:
    """Per ``(bank, program)`` (melodic bank 0 and drum bank 128): its :class:`PresetLayers`.
    Conservative: every velocity range and exclusive-class key of any zone counts."""
    data, table = _pdta(path)
    phdr = [(struct.unpack_from("<HHH", data, o + 20)) for o, _ in _records(data, table, "phdr", _PHDR)]
    pbag = [struct.unpack_from("<H", data, o)[0] for o, _ in _records(data, table, "pbag", _BAG)]
    ibag = [struct.unpack_from("<H", data, o)[0] for o, _ in _records(data, table, "ibag", _BAG)]
    inst = [struct.unpack_from("<H", data, o + 20)[0] for o, _ in _records(data, table, "inst", _INST)]
    pgen = [(struct.unpack_from("<H", data, o)[0], o + 2) for o, _ in _records(data, table, "pgen", _GEN)]
    igen = [(struct.unpack_from("<H", data, o)[0], o + 2) for o, _ in _records(data, table, "igen", _GEN)]
    pbag.append(len(pgen))  # a bag's generators run to the next bag's first (the last to the table's end)
    ibag.append(len(igen))
    if len(phdr) < 2 or len(inst) < 2:
        raise SoundFontFormatError("empty preset or instrument table")
    if max(pbag) > len(pgen) or max(ibag) > len(igen) or phdr[-1][2] >= len(pbag) or inst[-1] >= len(ibag):
        raise SoundFontFormatError("bag indices out of range")
    out: dict[tuple[int, int], PresetLayers] = {}
    for k in range(len(phdr) - 1):  # the last record is the terminal EOP
        program, bank, bag0 = phdr[k]
        if bank not in (0, DRUM_BANK) or program > 127:
            continue
        splits: set[int] = set()
        exclusive: set[int] = set()
        for zone in _zones(data, pbag, pgen, bag0, phdr[k + 1][2]):
            if GEN_VEL_RANGE in zone:
                splits.update((zone[GEN_VEL_RANGE][0], zone[GEN_VEL_RANGE][1] + 1))
            if GEN_INSTRUMENT not in zone:
                continue
            linked = zone[GEN_INSTRUMENT][0] | (zone[GEN_INSTRUMENT][1] << 8)
            if linked + 1 >= len(inst):
                continue
            for izone in _zones(data, ibag, igen, inst[linked], inst[linked + 1]):
                if GEN_VEL_RANGE in izone:
                    splits.update((izone[GEN_VEL_RANGE][0], izone[GEN_VEL_RANGE][1] + 1))
                ex = izone.get(GEN_EXCLUSIVE_CLASS)
                if ex and (ex[0] or ex[1]):
                    lo, hi = izone.get(GEN_KEY_RANGE, (0, 127))
                    exclusive.update(range(lo, min(hi, 127) + 1))
        out[(bank, program)] = PresetLayers(tuple(sorted(v for v in splits if 0 < v <= 127)), frozenset(exclusive))
    return out


@lru_cache(maxsize=4)
def _cached_layers(path: str, mtime_ns: int, size: int) -> dict[tuple[int, int], PresetLayers] | None:
    try:
        return read_preset_layers(Path(path))
    except (OSError, SoundFontFormatError, struct.error, IndexError) as exc:
        log.warning("cannot read velocity layers of %s (%s); every velocity is its own layer", path, exc)
        return None


def preset_layers(path: Path) -> dict[tuple[int, int], PresetLayers] | None:
    """:func:`read_preset_layers` for ``path``, once per file version; None if unreadable."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return _cached_layers(str(path), st.st_mtime_ns, st.st_size)

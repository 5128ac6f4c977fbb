"""The shipped game content in ``space_assets/`` loads, validates and is rich enough to play."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import get_args

import pytest

from kotone import assets
from kotone.domain.cards import SLOTS, Effect, GimmickMusic, InstrumentMusic, StyleMusic
from kotone.domain.errors import DataError
from kotone.domain.params import DIMS

SHIPPED = Path(assets.ASSETS_DIR)
TIMBRE_DIMS = ("warmth", "acousticness", "brightness", "nostalgia")
DRUM_KITS = ("standard", "brush", "jazz", "room", "electronic", "808", "hand")


def _clear_caches() -> None:
    assets.tag_vocabulary.cache_clear()
    assets.load_catalog.cache_clear()
    assets.load_book.cache_clear()


@pytest.fixture
def catalog():
    return assets.load_catalog()


@pytest.fixture
def book():
    return assets.load_book()


# ---------------------------------------------------------------- cards


def test_catalog_loads_with_minimum_counts(catalog):
    assert len(catalog) >= 48
    for slot in SLOTS:
        assert len(catalog.by_slot(slot)) >= 12, slot


def test_every_slot_has_three_free_starters(catalog):
    starters = set(catalog.starter_ids())
    for slot in SLOTS:
        free = [c for c in catalog.by_slot(slot) if c.id in starters]
        assert len(free) >= 3, f"{slot} has only {len(free)} free tier-1 cards"


def test_every_tier_used_in_every_slot_and_prices_rise(catalog):
    for slot in SLOTS:
        cards = catalog.by_slot(slot)
        assert {c.tier for c in cards} == {1, 2, 3, 4}, slot
        for c in cards:
            if c.tier == 1:
                assert c.price == 0, c.id
            else:
                assert c.price > 0, c.id
        top_of = {t: max(c.price for c in cards if c.tier == t) for t in (1, 2, 3, 4)}
        low_of = {t: min(c.price for c in cards if c.tier == t) for t in (1, 2, 3, 4)}
        for t in (2, 3, 4):
            assert low_of[t] > top_of[t - 1], (
                f"{slot}: tier {t} must cost more than tier {t - 1}"
            )


def test_card_ids_carry_their_slot_and_music_matches_slot(catalog):
    kinds = {
        "style": StyleMusic,
        "instrument": InstrumentMusic,
        "gimmick": GimmickMusic,
    }
    for c in catalog:
        assert c.id.startswith(c.slot + "_"), c.id
        if c.slot in kinds:
            assert isinstance(c.music, kinds[c.slot]), c.id
        assert 2 <= len(c.tags) <= 5, c.id
        assert c.id not in c.synergies and c.id not in c.anti_synergies, c.id
        assert not set(c.synergies) & set(c.anti_synergies), c.id


def test_each_gimmick_effect_has_a_card(catalog):
    effects = Counter(c.music.effect for c in catalog.by_slot("gimmick"))
    assert set(effects) == set(get_args(Effect))


def test_culture_styles_exist(catalog):
    styles = catalog.by_slot("style")

    def uses(scales: set[str], groove: str) -> bool:
        return any(
            {s.music.scales.bright, s.music.scales.neutral, s.music.scales.dark}
            & scales
            and s.music.groove == groove
            for s in styles
        )

    assert uses({"hijaz", "double_harmonic"}, "maqsum"), "no desert style"
    assert uses({"yo", "in"}, "matsuri"), "no Japanese festival style"
    assert any(
        s.music.groove == "jig"
        and s.music.meter == "6/8"
        and {s.music.scales.bright, s.music.scales.neutral} & {"dorian", "mixolydian"}
        for s in styles
    ), "no Celtic style"
    assert any(
        "ryukyu" in (s.music.scales.bright, s.music.scales.neutral) for s in styles
    )


def test_card_profiles_span_each_dim_in_each_slot(catalog):
    for slot in SLOTS:
        for dim in DIMS:
            values = [getattr(c.profile, dim) for c in catalog.by_slot(slot)]
            assert min(values) < 25 and max(values) > 75, (
                f"{slot}.{dim}: {min(values)}-{max(values)}"
            )


def test_card_profiles_agree_with_music(catalog):
    get = catalog.get
    # synths are electronic, acoustic instruments are acoustic
    assert get("instrument_square").profile.acousticness <= 15
    assert get("instrument_saw").profile.acousticness <= 15
    assert get("instrument_nylon").profile.acousticness >= 85
    # a lullaby is calm, a music box is bright and of the past
    assert get("style_lullaby").profile.energy <= 25
    mb = get("gimmick_music_box_intro").profile
    assert mb.nostalgia >= 80 and mb.brightness >= 75
    # styles' tempo ranges follow their energy
    slow = [c for c in catalog.by_slot("style") if c.profile.energy <= 25]
    fast = [c for c in catalog.by_slot("style") if c.profile.energy >= 75]
    assert slow and fast
    assert max(c.music.tempo_range[1] for c in slow) < min(
        c.music.tempo_range[1] for c in fast
    )


def test_instrument_programs_have_standard_numbers(catalog):
    melody = {
        c.id: c.music.programs["melody"][0] for c in catalog.by_slot("instrument")
    }
    assert melody["instrument_koto"] == 107
    assert melody["instrument_shamisen"] == 106
    assert melody["instrument_fiddle"] == 110
    assert melody["instrument_music_box"] == 10
    assert melody["instrument_nylon"] == 24
    assert melody["instrument_square"] == 80


# ---------------------------------------------------------------- gm programs


def test_gm_programs_table_complete_and_in_range():
    data = assets.read_json("gm_programs.json")
    programs = data["programs"]
    assert [p["program"] for p in programs] == list(range(128))
    for p in programs:
        assert p["name"] and p["family"], p
        for dim in TIMBRE_DIMS:
            assert 0 <= p[dim] <= 100, (p["program"], dim)
    names = {p["program"]: p["name"] for p in programs}
    assert names[0] == "Acoustic Grand Piano"
    assert names[10] == "Music Box"
    assert names[80] == "Lead 1 (square)"
    assert names[107] == "Koto"
    assert names[127] == "Gunshot"
    assert set(data["drum_kits"]) == set(DRUM_KITS)
    for kit, vals in data["drum_kits"].items():
        for dim in TIMBRE_DIMS:
            assert 0 <= vals[dim] <= 100, (kit, dim)


def test_gm_programs_timbre_is_sensible():
    by = {p["program"]: p for p in assets.read_json("gm_programs.json")["programs"]}
    assert by[24]["acousticness"] >= 90 and by[80]["acousticness"] <= 10
    assert by[10]["nostalgia"] >= 90
    assert by[9]["brightness"] > by[58]["brightness"]  # glockenspiel above tuba
    assert by[42]["warmth"] > by[80]["warmth"]  # cello warmer than square lead


# ---------------------------------------------------------------- townspeople and commissions


def test_book_loads_with_minimum_counts(book):
    assert len(book.people) >= 10
    assert len(book.commissions) >= 72
    used = {c.townsperson for c in book.commissions.values()}
    assert used == set(book.people), "every townsperson should have work"


def test_commission_targets_span_each_dim(book):
    for dim in DIMS:
        values = [getattr(c.target, dim) for c in book.commissions.values()]
        assert min(values) < 25 and max(values) > 75, (
            f"{dim}: {min(values)}-{max(values)}"
        )


def test_commission_rules_are_consistent(book):
    for c in book.commissions.values():
        assert (
            len(c.tags.required) <= 2
            and len(c.tags.optional) <= 3
            and len(c.tags.forbidden) <= 2
        )
        wanted = set(c.tags.required) | set(c.tags.optional)
        assert not wanted & set(c.tags.forbidden), c.id
        assert not set(c.tags.required) & set(c.preference.dislikes), c.id
        assert 60 <= c.reward <= 400, c.id
    ids = sorted(book.commissions)
    assert ids == [f"c{i:03d}" for i in range(1, len(ids) + 1)]


def test_harder_commissions_pay_more(book):
    by_diff: dict[int, list[int]] = {}
    for c in book.commissions.values():
        by_diff.setdefault(c.difficulty, []).append(c.reward)
    means = [sum(v) / len(v) for _, v in sorted(by_diff.items())]
    assert means == sorted(means)


# ---------------------------------------------------------------- broken data gives DataError


@pytest.fixture
def broken_dir(tmp_path, monkeypatch):
    for name in (
        "tags.json",
        "cards.json",
        "townspeople.json",
        "commissions.json",
        "gm_programs.json",
    ):
        shutil.copy(SHIPPED / name, tmp_path / name)
    monkeypatch.setattr(assets, "ASSETS_DIR", tmp_path)
    _clear_caches()
    yield tmp_path
    _clear_caches()


def _edit(path: Path, key: str, fn) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    fn(data[key])
    path.write_text(json.dumps(data), encoding="utf-8")


def test_copied_data_loads(broken_dir):
    assert len(assets.load_catalog()) >= 48
    assert len(assets.load_book().commissions) >= 72


def test_invalid_json_is_a_data_error(broken_dir):
    (broken_dir / "cards.json").write_text('{"cards": [', encoding="utf-8")
    with pytest.raises(DataError, match="cards.json is not valid JSON"):
        assets.load_catalog()


def test_missing_file_is_a_data_error(broken_dir):
    (broken_dir / "commissions.json").unlink()
    with pytest.raises(DataError, match="missing data file .*commissions.json"):
        assets.load_book()


def test_out_of_range_profile_names_the_card(broken_dir):
    def bad(cards):
        cards[0]["profile"]["energy"] = 140

    _edit(broken_dir / "cards.json", "cards", bad)
    first = json.loads((SHIPPED / "cards.json").read_text(encoding="utf-8"))["cards"][
        0
    ]["id"]
    with pytest.raises(DataError, match=f"card '{first}' is invalid"):
        assets.load_catalog()


def test_unknown_effect_is_a_data_error(broken_dir):
    def bad(cards):
        next(c for c in cards if c["slot"] == "gimmick")["music"]["effect"] = (
            "laser_show"
        )

    _edit(broken_dir / "cards.json", "cards", bad)
    with pytest.raises(DataError, match="is invalid"):
        assets.load_catalog()


def test_unknown_tag_and_synergy_are_data_errors(broken_dir):
    _edit(
        broken_dir / "cards.json",
        "cards",
        lambda cards: cards[1]["tags"].append("kazoo"),
    )
    with pytest.raises(DataError, match="unknown tags"):
        assets.load_catalog()
    shutil.copy(SHIPPED / "cards.json", broken_dir / "cards.json")
    _edit(
        broken_dir / "cards.json",
        "cards",
        lambda cards: cards[2]["synergies"].append("style_nowhere"),
    )
    _clear_caches()
    with pytest.raises(DataError, match="unknown card 'style_nowhere'"):
        assets.load_catalog()


def test_commission_for_unknown_person_is_a_data_error(broken_dir):
    def bad(comms):
        comms[0]["townsperson"] = "nobody"

    _edit(broken_dir / "commissions.json", "commissions", bad)
    with pytest.raises(DataError, match="unknown townsperson 'nobody'"):
        assets.load_book()

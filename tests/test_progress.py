import pytest

from kotone.assets import load_catalog
from kotone.domain.errors import InvalidInputError, LockedCardError
from kotone.domain.progress import (
    START_COINS,
    buy,
    check_unlocked,
    coins_for,
    load_progress,
    new_progress,
    reward,
)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_new_player_has_starters_and_coins(catalog):
    p = new_progress(catalog)
    assert p.coins == START_COINS
    assert set(p.unlocked) == set(catalog.starter_ids())
    for slot in ("style", "instrument", "mood", "gimmick"):
        assert any(catalog.get(c).slot == slot for c in p.unlocked)


@pytest.mark.parametrize("raw", [None, "garbage", 42, {"coins": -5}, {"coins": "lots"}, {"unlocked": 3}])
def test_malformed_browser_state_starts_fresh(catalog, raw):
    assert load_progress(raw, catalog) == new_progress(catalog)


def test_unknown_card_ids_in_state_are_dropped(catalog):
    p = load_progress({"coins": 10, "unlocked": ["nope", "style_lofi"], "history": []}, catalog)
    assert "nope" not in p.unlocked
    assert p.coins == 10


def test_buy_and_locks(catalog):
    p = new_progress(catalog)
    locked = min((c for c in catalog if c.id not in p.unlocked), key=lambda c: c.price)
    with pytest.raises(LockedCardError, match=locked.name):
        check_unlocked(p, {locked.slot: locked})
    rich = p.model_copy(update={"coins": 10_000})
    after = buy(rich, locked)
    assert locked.id in after.unlocked and after.coins == 10_000 - locked.price
    with pytest.raises(InvalidInputError, match="already unlocked"):
        buy(after, locked)
    poor = p.model_copy(update={"coins": 0})
    expensive = max(catalog, key=lambda c: c.price)
    with pytest.raises(InvalidInputError, match="costs"):
        buy(poor, expensive)
    assert poor.coins == 0 and expensive.id not in poor.unlocked


def test_coins_follow_score():
    assert coins_for(20, 200) == 0
    assert coins_for(60, 200) == 100
    assert coins_for(90, 200) == 230
    assert [coins_for(s, 150) for s in range(0, 101, 10)] == sorted(coins_for(s, 150) for s in range(0, 101, 10))


def test_reward_pays_gifts_and_records(catalog):
    p = new_progress(catalog)
    after, earned, gift = reward(p, catalog, "song123", "c001", 92.0, "S", 100, seed=3)
    assert earned == 115 and after.coins == p.coins + 115
    assert gift is not None and gift.id in after.unlocked and gift.tier == 2
    assert after.history[-1] == "song123" and "c001" in after.completed
    free, earned2, gift2 = reward(p, catalog, "song124", None, 99.0, "S", 0, seed=3)
    assert earned2 == 0 and gift2 is None

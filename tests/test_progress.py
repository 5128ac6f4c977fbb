import pytest

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
    _, earned2, gift2 = reward(p, catalog, "song124", None, 99.0, "S", 0, seed=3)
    assert earned2 == 0 and gift2 is None


def deliver(p, catalog, score, song, recipe=None, commission="c001", reward_coins=200, rank="B"):
    return reward(p, catalog, song, commission, score, rank, reward_coins, seed=0, recipe=recipe)


def test_repeated_deliveries_pay_only_for_improvement(catalog):
    p = new_progress(catalog)
    p1, e1, _ = deliver(p, catalog, 60.0, "s1", "c001|a|b|c|d|1")
    assert e1 == coins_for(60, 200) == 100 and p1.best["c001"] == 60.0
    p2, e2, _ = deliver(p1, catalog, 60.0, "s2", "c001|a|b|c|d|2")  # same score, another take
    assert e2 == 0 and p2.coins == p1.coins
    p3, e3, _ = deliver(p2, catalog, 50.0, "s3", "c001|a|b|c|d|3")  # worse: nothing, best kept
    assert e3 == 0 and p3.best["c001"] == 60.0
    p4, e4, _ = deliver(p3, catalog, 75.0, "s4", "c001|a|b|c|d|4")  # better: the difference only
    assert e4 == coins_for(75, 200) - coins_for(60, 200) == 50
    assert p4.coins == p.coins + coins_for(75, 200)  # never more than one best delivery in total
    _, e5, _ = deliver(p4, catalog, 80.0, "s5", "c002|a|b|c|d|4", commission="c002")  # another request pays
    assert e5 == coins_for(80, 200)


def test_the_same_recipe_is_paid_once(catalog):
    p = new_progress(catalog)
    p1, e1, _ = deliver(p, catalog, 70.0, "s1", "c001|a|b|c|d|7")
    p2, e2, gift = deliver(p1.model_copy(update={"best": {}}), catalog, 95.0, "s2", "c001|a|b|c|d|7", rank="S")
    assert e1 > 0 and e2 == 0 and gift is None
    assert p2.recipes["c001|a|b|c|d|7"] == "s1"


def test_gift_card_only_the_first_time_a_commission_reaches_a(catalog):
    p = new_progress(catalog)
    p1, _, gift1 = deliver(p, catalog, 85.0, "s1", "r1", rank="A")
    _, _, gift2 = deliver(p1, catalog, 95.0, "s2", "r2", rank="S")
    assert gift1 is not None and gift1.id in p1.unlocked
    assert gift2 is None


def test_old_browser_state_without_best_or_recipes_loads(catalog):
    p = load_progress({"coins": 50, "unlocked": ["style_lofi"], "history": ["x"], "completed": ["c001"]}, catalog)
    assert p.best == {} and p.recipes == {} and p.coins == 50

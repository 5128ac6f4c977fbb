"""Player progress (kept in the browser): coins, unlocked cards, history, best score per
commission. Validated on every use.

Coins pay for *improvement*: the first delivery of a commission pays by its score, a later
one pays only the difference between its score's coins and the best delivered so far, and
the same cards with the same seed for the same commission pay nothing the second time.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kotone.domain.cards import Card, Catalog
from kotone.domain.errors import InvalidInputError, LockedCardError
from kotone.domain.scoring import rank_for

START_COINS = 100
MAX_HISTORY = 200
MAX_RECIPES = 300


class Progress(BaseModel):
    model_config = ConfigDict(extra="ignore")

    coins: int = Field(START_COINS, ge=0, le=10_000_000)
    unlocked: list[str] = Field(default_factory=list)
    history: list[str] = Field(default_factory=list)  # song ids, newest last
    completed: list[str] = Field(default_factory=list)  # commission ids
    best: dict[str, float] = Field(default_factory=dict)  # commission id -> best score delivered
    recipes: dict[str, str] = Field(default_factory=dict)  # recipe key (commission|cards|seed) -> song id


def new_progress(catalog: Catalog) -> Progress:
    return Progress(unlocked=catalog.starter_ids())


def load_progress(raw: object, catalog: Catalog) -> Progress:
    """Accept what the browser sent; anything malformed starts a fresh game, unknown ids drop."""
    if not isinstance(raw, Mapping):
        return new_progress(catalog)
    try:
        p = Progress.model_validate(raw)
    except ValidationError:
        return new_progress(catalog)
    unlocked = [c for c in dict.fromkeys(p.unlocked) if c in catalog]
    for starter in catalog.starter_ids():
        if starter not in unlocked:
            unlocked.append(starter)
    return p.model_copy(update={"unlocked": unlocked, "history": p.history[-MAX_HISTORY:],
                                "recipes": dict(list(p.recipes.items())[-MAX_RECIPES:])})


def check_unlocked(progress: Progress, cards: Mapping[str, Card]) -> None:
    locked = [c for c in cards.values() if c.id not in progress.unlocked]
    if locked:
        names = ", ".join(f"«{c.name}» ({c.price} coins)" for c in locked)
        one = len(locked) == 1
        raise LockedCardError(f"{names} {'is' if one else 'are'} locked: buy {'it' if one else 'them'} in the shop "
                              "below first.")


def buy(progress: Progress, card: Card) -> Progress:
    if card.id in progress.unlocked:
        raise InvalidInputError(f"«{card.name}» is already unlocked")
    if progress.coins < card.price:
        raise InvalidInputError(f"«{card.name}» costs {card.price} coins; you have {progress.coins}")
    return progress.model_copy(update={"coins": progress.coins - card.price,
                                       "unlocked": [*progress.unlocked, card.id]})


def coins_for(score_total: float, reward: int) -> int:
    """Full reward at 90+, nothing below 30, linear between; a small bonus for S."""
    frac = min(1.0, max(0.0, (score_total - 30.0) / 60.0))
    bonus = 1.15 if score_total >= 90 else 1.0
    return int(round(reward * frac * bonus))


def gift_card(progress: Progress, catalog: Catalog, rank: str, seed: int) -> Card | None:
    """On an A or S, the client gives a locked card of the lowest tier still locked."""
    if rank not in ("S", "A"):
        return None
    locked = sorted((c for c in catalog if c.id not in progress.unlocked), key=lambda c: (c.tier, c.price, c.id))
    if not locked:
        return None
    lowest = [c for c in locked if c.tier == locked[0].tier]
    return lowest[seed % len(lowest)]


def reward(progress: Progress, catalog: Catalog, song_id: str, commission_id: str | None,
           score_total: float, rank: str, reward_coins: int, seed: int,
           recipe: str | None = None) -> tuple[Progress, int, Card | None]:
    """Pay for a delivered song: coins for beating your best score on this commission, a gift
    card the first time it reaches A or S, nothing for a recipe already delivered."""
    repeat = recipe is not None and recipe in progress.recipes
    before = progress.best.get(commission_id) if commission_id else None
    earned, gift = 0, None
    if commission_id and not repeat:
        earned = max(0, coins_for(score_total, reward_coins) - coins_for(before or 0.0, reward_coins))
        first_top = before is None or rank_for(before) not in ("S", "A")
        gift = gift_card(progress, catalog, rank, seed) if first_top else None
    unlocked = [*progress.unlocked, gift.id] if gift else list(progress.unlocked)
    completed = list(progress.completed)
    if commission_id and commission_id not in completed and score_total >= 50:
        completed.append(commission_id)
    best = dict(progress.best)
    if commission_id:
        best[commission_id] = max(score_total, before or 0.0)
    recipes = dict(progress.recipes)
    if recipe is not None and not repeat:
        recipes[recipe] = song_id
    new = progress.model_copy(update={
        "coins": progress.coins + earned, "unlocked": unlocked, "completed": completed, "best": best,
        "history": [*progress.history, song_id][-MAX_HISTORY:],
        "recipes": dict(list(recipes.items())[-MAX_RECIPES:]),
    })
    return new, earned, gift

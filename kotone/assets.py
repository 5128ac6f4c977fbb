"""Loads the shipped data in ``space_assets/`` once, validated, with clear errors."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from kotone.domain.cards import Catalog
from kotone.domain.commissions import CommissionBook
from kotone.domain.errors import DataError

ASSETS_DIR = Path(os.environ.get("KOTONE_ASSETS", Path(__file__).resolve().parent.parent / "space_assets"))


def read_json(name: str) -> Any:
    path = ASSETS_DIR / name
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise DataError(f"missing data file {path}") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from exc


@lru_cache(maxsize=1)
def tag_vocabulary() -> frozenset[str]:
    return frozenset(read_json("tags.json")["tags"])


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    return Catalog.from_dicts(read_json("cards.json")["cards"], tag_vocabulary())


@lru_cache(maxsize=1)
def load_book() -> CommissionBook:
    return CommissionBook.from_dicts(
        read_json("townspeople.json")["townspeople"],
        read_json("commissions.json")["commissions"],
        tag_vocabulary(),
    )

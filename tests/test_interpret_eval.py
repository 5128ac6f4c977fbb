import math

import pytest

from eval.interpreter import (
    bucket,
    constraint_match_rate,
    markdown,
    per_dim_mae,
    percentile,
    sanity_score,
    slot_metrics,
    spread_ratio,
    table_rows,
    vector_mae,
)
from kotone.domain.params import Params

A = Params(energy=10, warmth=50, brightness=90, acousticness=50, complexity=50, nostalgia=50)
B = Params(energy=20, warmth=50, brightness=70, acousticness=50, complexity=50, nostalgia=80)


def test_buckets_and_constraints():
    assert [bucket(v) for v in (34.9, 35, 65, 65.1)] == ["low", "mid", "mid", "high"]
    assert constraint_match_rate([A, B], [A, A]) == 0.5  # B's nostalgia 80 is high, A's 50 mid


def test_mae():
    assert vector_mae([A], [A]) == 0
    assert math.isclose(vector_mae([B], [A]), (10 + 20 + 30) / 6)
    assert per_dim_mae([B], [A])["nostalgia"] == 30


def test_spread_and_sanity():
    const = [Params()] * 3
    golds = [A, B, Params()]
    # energy, brightness and nostalgia vary in gold, the other three do not (ratio 1 there)
    assert spread_ratio(const, golds) == 0.5
    assert spread_ratio(golds, golds) == 1
    assert sanity_score(1, 1, 1) == 100
    assert sanity_score(1, 1, 0) == 70


def test_slot_metrics_with_a_synthetic_catalog():
    # two "cards" per slot; the chooser picks by energy, the scorer rewards closeness in energy
    def choose(t):
        return {s: ("fast" if t.energy > 50 else "slow") for s in ("style", "instrument", "mood", "gimmick")}

    def score(gold, choice):
        card_energy = 80 if choice["style"] == "fast" else 20
        return 100 - abs(gold.energy - card_energy)

    hi = Params(energy=90)
    lo = Params(energy=10)
    match, intent = slot_metrics([hi, hi], [hi, lo], choose, score)
    assert match == 0.5
    assert intent == ((100 - 10) + (100 - 70)) / 2


def test_percentile():
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile(list(range(101)), 95) == 95


def test_table_and_markdown_without_scoring():
    run = {"name": "x", "preds": [A, B], "latency_ms": [1.0, 2.0], "cold_load_s": 0.1, "valid_rate": 1.0,
           "in_range_rate": 1.0, "fallbacks": 0, "cost_per_100_usd": 0.0}
    rows = table_rows([run], [A, B], None)
    assert rows[0]["vector_mae"] == 0 and rows[0]["slot_exact_match"] is None
    md = markdown(rows, {"data": "d", "n": 2, "command": "c", "when": "w", "cpu": "c"})
    assert "| x | 1.0000 | 0.0000 |" in md and "n/a" in md


@pytest.mark.parametrize("q", [0, 100])
def test_percentile_edges(q):
    assert percentile([3.0], q) == 3.0

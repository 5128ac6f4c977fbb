import random

from kotone.assets import tag_vocabulary
from kotone.domain.commissions import Commission
from kotone.interpret.commission_gen import (
    CONTRASTS,
    CULTURE,
    EMOTIONS,
    HINTS,
    MEMORIES,
    NEGATIONS,
    PURPOSES,
    SCENES,
    SENSORY,
    Part,
    combine,
    generate,
    generate_commission,
)
from kotone.interpret.rule import RuleInterpreter
from training.quality_filter import consistency_errors, coverage, filter_rows, schema_errors


def row(text, **dims):
    p = {d: 50 for d in ("energy", "warmth", "brightness", "acousticness", "complexity", "nostalgia")}
    p.update(dims)
    return {"id": text[:8], "text": text, "params": p, "justification": "because"}


def test_combine_is_a_weighted_mean_with_a_neutral_prior():
    assert combine([]).as_list() == [50.0] * 6
    one = combine([Part("x", {"energy": 10.0})])
    assert one.energy < 25 and one.warmth == 50
    two = combine([Part("x", {"energy": 10.0}), Part("y", {"energy": 90.0})])
    assert abs(two.energy - 50) <= 1


def test_generator_is_deterministic_and_labels_follow_parts():
    a = [generate(random.Random(3)).text for _ in range(3)]
    assert len(set(a)) == 1
    rng = random.Random(0)
    for _ in range(200):
        g = generate(rng)
        assert 3 <= len(g.text) <= 500 and g.justification
        assert g.params == combine(g.parts)


def test_bank_tags_are_in_the_game_vocabulary():
    vocab = tag_vocabulary()
    for bank in (SCENES, MEMORIES, SENSORY, EMOTIONS, HINTS, NEGATIONS, CONTRASTS, CULTURE, PURPOSES):
        for p in bank:
            assert set(p.tags) <= vocab, (p.text, set(p.tags) - vocab)


def test_generated_commission_validates():
    c = generate_commission(random.Random(1), "mika", interpreter=RuleInterpreter(), vocabulary=tag_vocabulary())
    Commission.model_validate(c)
    assert c["target"] == RuleInterpreter().interpret(c["text"]).params.rounded(1)


def test_quality_filter_checks():
    assert schema_errors(row("ok text")) == []
    assert schema_errors({**row("ok text"), "params": {"energy": 120}})
    assert consistency_errors(row("a frantic rave", energy=20))
    assert not consistency_errors(row("nothing frantic please", energy=20))
    assert not consistency_errors(row("no synths at all", acousticness=90))
    frozen = [row("the first snow and my grandmother humming")]
    rows = [row("a calm sea"), row("A calm sea!"), row("the first snow and my grandmother humming"),
            row("a frantic rave", energy=10), row("a loud fast drum circle under the moon tonight", energy=80),
            row("a loud fast drum circle under the moon tonight please", energy=80)]
    kept, rejected = filter_rows(rows, against=frozen)
    assert [r["text"] for r in kept] == ["a calm sea", "a loud fast drum circle under the moon tonight"]
    reasons = " ".join(why for _, why in rejected)
    assert "exact duplicate" in reasons and "protected" in reasons and "consistency" in reasons
    assert "near duplicate" in reasons


def test_shipped_data_is_clean_and_covers_the_range():
    import json
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "training" / "data"
    frozen = [json.loads(x) for x in (data / "frozen_eval.jsonl").read_text().splitlines()]
    train = [json.loads(x) for x in (data / "train.jsonl").read_text().splitlines()]
    assert len(frozen) >= 150 and len(train) >= 1500
    frozen_texts = {r["text"].lower() for r in frozen}
    assert not frozen_texts & {r["text"].lower() for r in train}
    cov = coverage(train)
    assert all(c["lt20"] > 0 and c["gt80"] > 0 for c in cov.values()), cov

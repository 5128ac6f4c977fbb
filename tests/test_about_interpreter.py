"""The About tab's interpreter text says plainly whether lm beats rule on the natural set."""

from kotone.about import about_markdown, lm_verdict


def result(lm: float, rule: float) -> dict:
    return {"sets": {"natural": {"rows": [{"mode": "rule", "vector_mae": rule}, {"mode": "lm", "vector_mae": lm}]}}}


def test_verdict_when_lm_beats_rule_by_a_point():
    assert "beats `rule` by 2.0 points" in lm_verdict(result(10.0, 12.0))


def test_verdict_when_lm_does_not():
    text = lm_verdict(result(11.5, 12.0))
    assert "does not beat `rule`" in text and "11.5 vs 12.0" in text


def test_verdict_without_a_measurement():
    assert "not measured" in lm_verdict({})


def test_about_page_has_the_interpreter_section():
    assert "## Interpreter (request → six numbers)" in about_markdown()

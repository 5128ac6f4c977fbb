"""eval.music's summaries and issue-9 bar rows (known answers; no songs composed or rendered)."""

from eval.music import COLUMNS, Column, bars_of_issue, summarize


def _summary(values: list[float], **kw) -> dict:
    return summarize(Column("x", lambda v: v, **kw), values)  # a "piece" here is its own value


def test_listener_table_has_both_audio_columns():
    names = [c.name for c in COLUMNS]
    assert "lead_minus_acc_db" in names and "loudness_lufs" in names


def test_meets_is_the_share_of_pieces_meeting_a_per_piece_bar():
    s = _summary([5.0, 4.0, 2.0, float("nan")], meets=lambda v: v >= 3.0)
    assert s["n"] == 3 and abs(s["meets"] - 2 / 3) < 1e-9 and "bar met 67%" in s["text"]


def _table(lead: list[float], lufs: list[float]) -> dict:
    by_name = {c.name: c for c in COLUMNS}
    g = {name: _summary([1.0, 1.0]) for name in by_name}
    g["bar_recurrence"], g["range_violations"] = _summary([0.5]), _summary([0.0])
    g["distinct_chords"] = _summary([3.0])
    g["lead_minus_acc_db"] = _summary(lead, meets=by_name["lead_minus_acc_db"].meets)
    g["loudness_lufs"] = _summary(lufs, meets=by_name["loudness_lufs"].meets)
    return {"generated": g}


def test_audio_bars_are_rows_and_can_fail():
    ok = {b: met for b, met, _ in bars_of_issue(_table([4.0] * 20, [-18.0, -17.2]))}
    lead_row = next(b for b in ok if b.startswith("lead >= 3 dB"))
    loud_row = next(b for b in ok if b.startswith("loudness"))
    assert ok[lead_row] and ok[loud_row]
    bad = {b: met for b, met, _ in bars_of_issue(_table([4.0] * 18 + [2.9, 1.0], [-18.0, -16.4]))}
    assert not bad[lead_row]  # 90% < 95%
    assert not bad[loud_row]  # 1.6 LU off

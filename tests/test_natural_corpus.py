"""training.natural_corpus: gold labels, third-label rule, agreement, splits by writer pass."""

from __future__ import annotations

import json

import pytest

from kotone.domain.params import DIMS
from training import natural_corpus as nc


def lab(rid, labeller, **vals):
    return {"id": rid, "labeller": labeller, **{d: vals.get(d, 50) for d in DIMS}}


def write(tmp_path, requests, labels):
    (tmp_path / "requests").mkdir()
    (tmp_path / "labels").mkdir()
    by_pass: dict[str, list] = {}
    for r in requests:
        by_pass.setdefault(r["pass"], []).append(r)
    for p, rows in by_pass.items():
        (tmp_path / "requests" / f"{p}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    by_lab: dict[str, list] = {}
    for r in labels:
        by_lab.setdefault(r["labeller"], []).append(r)
    for name, rows in by_lab.items():
        (tmp_path / "labels" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize(("values", "expect"), [
    ([40, 60], 50), ([10, 80, 75], 77.5), ([10, 15, 80], 12.5), ([20, 50, 80], 50), ([90, 20, 30], 25)])
def test_closest_pair_mean(values, expect):
    assert nc.closest_pair_mean(values) == expect


def test_pass_names_drop_chunk_numbers():
    assert [nc.pass_of(x) for x in ("A1", "A2", "B12", "C", "lab_b-3")] == ["A", "A", "B", "C", "lab_b"]


def test_build_merges_reports_and_splits_by_writer_pass(tmp_path):
    reqs = [{"id": f"{p}_{i}", "pass": p, "text": f"request {p} number {i} about the sea and bread"}
            for p in ("w1", "w2", "w7", "e1") for i in range(3)]
    reqs.append({"id": "w1_dup", "pass": "w1", "text": "request e1 number 0 about the sea and bread"})
    labels = []
    for r in reqs:
        labels.append(lab(r["id"], "A1" if r["id"] < "w2" else "A2", energy=40))
        labels.append(lab(r["id"], "B1", energy=60))
    # one row where the two passes differ by 60 on warmth; the third pass sides with B
    labels.append(lab("w2_0", "C1", energy=55, warmth=85))
    labels = [x for x in labels if not (x["id"] == "w2_0" and x["labeller"] == "B1")]
    labels.append(lab("w2_0", "B1", energy=60, warmth=90))
    labels = [x for x in labels if not (x["id"] == "w2_0" and x["labeller"] in ("A1", "A2"))]
    labels.append(lab("w2_0", "A1", energy=40, warmth=30))
    labels.append(lab("ghost", "A1"))
    labels = [x for x in labels if not (x["id"] == "w7_2" and x["labeller"] == "B1")]  # not labelled twice yet
    write(tmp_path, reqs, labels)

    stats = nc.build(tmp_path, valid_pass="w7")
    rows = {r["id"]: r for part in ("train", "valid", "frozen_e1")
            for r in map(json.loads, (tmp_path / f"{part}.jsonl").read_text().splitlines())}
    assert stats["requests"] == 13 and stats["labelled"] == 12 and stats["missing_labels"] == 1
    assert stats["orphan_labels"] == 1 and stats["third_labels"] == 1 and stats["passes"] == ["A", "B", "C"]
    assert rows["w1_0"]["params"]["energy"] == 50  # mean of 40 and 60
    assert rows["w2_0"]["params"]["warmth"] == 87.5  # the two closest of 30, 85, 90
    assert rows["w2_0"]["params"]["energy"] == 57.5  # closest pair of 40, 55, 60
    assert rows["w2_0"]["n_labels"] == 3
    train = (tmp_path / "train.jsonl").read_text()
    valid = [json.loads(x) for x in (tmp_path / "valid.jsonl").read_text().splitlines()]
    frozen = [json.loads(x) for x in (tmp_path / "frozen_e1.jsonl").read_text().splitlines()]
    assert {r["pass"] for r in valid} == {"w7"} and len(valid) == 2
    assert {r["pass"] for r in frozen} == {"e1"} and len(frozen) == 3
    assert "w7_" not in train and "e1_" not in train
    assert "w1_dup" not in train and stats["dropped_near_duplicates_of_frozen"] == 1  # protects the frozen set
    agree = stats["agreement_all"]
    assert agree["mae_between_passes"]["energy"] == 20.0  # 40 vs 60 on every row
    assert agree["mae_between_passes"]["warmth"] == pytest.approx(60 / 12, abs=0.01)
    assert agree["mae_answer_50"]["energy"] == pytest.approx((11 * 0 + 7.5) / 12, abs=0.01)
    text = nc.report(stats)
    assert "between passes" in text and "answer 50" in text and "12 with gold labels" in text


def test_out_of_range_label_is_refused(tmp_path):
    write(tmp_path, [{"id": "w1_0", "pass": "w1", "text": "hello there"}], [lab("w1_0", "A1", energy=120)])
    with pytest.raises(ValueError, match="outside 0-100"):
        nc.load_labels(tmp_path)

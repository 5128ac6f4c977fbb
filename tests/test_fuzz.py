"""A bounded, seeded fuzz over every event of the running app (eval/fuzz.py; the full run
with >= 2,000 calls is ``python -m eval.fuzz``)."""

import httpx
import pytest

from eval.fuzz import fuzz

pytestmark = pytest.mark.browser


def test_fuzzed_calls_get_clear_errors_and_save_nothing(app_server):
    report = fuzz(app_server["url"], app_server["data"], app_server["data"] / "server.log", calls=240, seed=1)
    s = report.summary()
    unclear = [(o.endpoint, o.message) for o in report.outcomes if o.kind == "unclear"]
    events = len(httpx.get(app_server["url"] + "config", timeout=30).json()["dependencies"])
    assert s["endpoints"] == events and s["clear errors"] >= 150
    assert s["unclear errors"] == 0, unclear[:5]
    assert s["saved by a rejected call"] == 0
    assert s["route probes failed"] == 0, [r for r in report.routes if not r[2]]
    assert s["tracebacks in log"] == 0
    assert s["server up throughout"]

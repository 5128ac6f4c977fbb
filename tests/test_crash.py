"""kill -9 mid-burst, restart, three rounds (slow: ``./test.sh -m slow``, or ``python -m eval.crash``)."""

import pytest

from eval import crash
from tests.conftest import free_port


@pytest.mark.slow
def test_kill_9_mid_burst_loses_no_acknowledged_song(capsys):
    assert crash.main(["--rounds", "3", "--clients", "6", "--port", str(free_port())]) == 0
    assert "PASS" in capsys.readouterr().out

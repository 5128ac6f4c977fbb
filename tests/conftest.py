from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalog():
    """The shipped card catalog (validated at load)."""
    from kotone.assets import load_catalog

    return load_catalog()


@pytest.fixture(scope="module")
def book():
    """The shipped townspeople and commissions."""
    from kotone.assets import load_book

    return load_book()


def free_port() -> int:
    """A free loopback port: from $KOTONE_TEST_PORTS ("7872-7879") when set, else any."""
    lo, _, hi = os.environ.get("KOTONE_TEST_PORTS", "0").partition("-")
    for port in range(int(lo), int(hi or lo) + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in $KOTONE_TEST_PORTS={os.environ.get('KOTONE_TEST_PORTS')}")


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The real app, served on loopback from a subprocess with its own data folder."""
    data = tmp_path_factory.mktemp("kotone-data")
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "KOTONE_DATA_DIR": str(data),
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    log = open(data / "server.log", "w")  # noqa: SIM115 (closed after the server stops)
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited early: {(data / 'server.log').read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("app did not start within 90 s")
    yield {"url": url, "data": data, "proc": proc}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()

"""Start the real app (``python app.py``) on loopback for a benchmark or a crash test.

    with served_app(7882) as app: ...   # app.url, app.data (data folder), app.log, app.proc
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ServedApp:
    url: str
    data: Path
    log: Path
    proc: subprocess.Popen


READY_LINE = "compose workers ready"  # logged by kotone.web.workers once every worker is warm


def start(port: int, data: Path, log: Path, env: dict[str, str] | None = None,
          timeout_s: float = 120.0, warm: bool = False) -> subprocess.Popen:
    """Start app.py serving ``data`` on ``port``; returns once it answers (raises if it cannot)
    and, with ``warm``, once its compose workers have loaded their models (a benchmark should
    not time the start-up)."""
    offset = log.stat().st_size if log.exists() else 0
    full_env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "KOTONE_DATA_DIR": str(data),
                "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1",
                **(env or {})}
    with log.open("ab") as fh:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=full_env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited early: {log.read_text(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
        except OSError:
            time.sleep(0.3)
            continue
        if not warm or READY_LINE.encode() in log.read_bytes()[offset:]:
            return proc
        time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"app did not answer within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen, *, hard: bool = False) -> None:
    """SIGKILL (``hard``) or SIGTERM then SIGKILL after 10 s; waits for the process."""
    if proc.poll() is not None:
        return
    if hard:
        proc.kill()
    else:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait(timeout=30)


@contextlib.contextmanager
def served_app(port: int, env: dict[str, str] | None = None, data: Path | None = None,
               warm: bool = False) -> Iterator[ServedApp]:
    with tempfile.TemporaryDirectory(prefix="kotone-served-") as tmp:
        data = data or Path(tmp) / "data"
        data.mkdir(parents=True, exist_ok=True)
        log = Path(tmp) / "server.log"
        proc = start(port, data, log, env, warm=warm)
        try:
            yield ServedApp(f"http://127.0.0.1:{port}/", data, log, proc)
        finally:
            stop(proc)

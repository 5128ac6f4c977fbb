"""What changes when the app runs on a Hugging Face Space.

A Space sets ``SPACE_ID`` (and ``SYSTEM=spaces``). There the interpreter is loaded at
start-up instead of on the first request: with ``KOTONE_INTERPRETER=lm`` on ZeroGPU the
``lm`` backend's public loader loads the model in the main process and moves it to CUDA
(see ``kotone.interpret.lm``), which is where ``@spaces.GPU`` expects it; the GPU is only
taken inside the decorated generate call. A model that cannot be loaded is logged and the
app falls back to the embedded default, so the Space still boots.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)


def on_space(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("SPACE_ID", "").strip()) or env.get("SYSTEM", "") == "spaces"


def warm_models() -> dict[str, Any]:
    """Load the default interpreter now; returns what was loaded and how long it took."""
    import kotone.interpret.backends  # noqa: F401  (registers the backends, applies KOTONE_INTERPRETER)
    from kotone.interpret import base

    name = base.DEFAULT_BACKEND
    t0 = time.perf_counter()
    try:
        base.get_interpreter(name)
    except Exception as exc:  # a missing package or model must not keep the Space from booting
        fallback = "embed" if name != "embed" and "embed" in base.available() else "rule"
        log.warning("could not load the %r interpreter at start-up (%s: %s); using %r", name,
                    type(exc).__name__, str(exc)[:200], fallback)
        base.DEFAULT_BACKEND = name = fallback
        base.get_interpreter(name)
    info = {"interpreter": name, "load_s": round(time.perf_counter() - t0, 2),
            "zero_gpu": os.environ.get("SPACES_ZERO_GPU", "").lower() in {"1", "t", "true"}}
    log.info("start-up models: %s", info)
    return info

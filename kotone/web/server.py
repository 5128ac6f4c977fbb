"""How the app is served: bounds, concurrency, private files, logs. Used by ``app.main()``.

- Compose-class events (handlers marked by :func:`kotone.web.edge.costly_edge`) share one
  concurrency group of ``workers`` slots (one per core); other events run ``2 * workers``
  at once each.
- Gradio's queue holds at most ``queue_max`` waiting events; past that a visitor is told
  the atelier is busy (see :mod:`kotone.web.guard`).
- Uploads are refused (the app has no upload component; ``max_file_size`` caps them when a
  self-hoster opens them with ``KOTONE_ALLOW_UPLOADS=1``), output copies in
  Gradio's cache are swept by ``delete_cache``, the data folder is never an allowed path
  unless it lies outside the working and temp folders (then only ``songs/``, still guarded).
- Start-up recovery of the gallery runs before the first request.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from kotone.store.gallery import Gallery
from kotone.web.guard import WebGuard, parse_size
from kotone.web.inputs import harden_inputs
from kotone.web.limits import RateLimiter, ServerLimits

log = logging.getLogger("kotone.web")
COMPOSE_GROUP = "compose"


def setup_logging() -> None:
    """One line per event for the game's own loggers; third-party loggers keep their levels."""
    logger = logging.getLogger("kotone")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def is_costly(fn: Any) -> bool:
    return bool(getattr(fn, "kotone_costly", False))


def configure_events(demo: gr.Blocks, limits: ServerLimits) -> int:
    """Put every costly handler in one concurrency group; returns how many there are."""
    n = 0
    for block_fn in demo.fns.values():
        if is_costly(block_fn.fn):
            block_fn.concurrency_id = COMPOSE_GROUP
            block_fn.concurrency_limit = limits.workers
            n += 1
    return n


def allowed_paths(gallery: Gallery) -> list[str]:
    """Gradio may copy returned files only from allowed paths, the working folder or the temp
    folder; the data folder is added (its songs/ part) only when it lies elsewhere."""
    songs = Path(os.path.realpath(gallery.songs_dir))
    near = [Path(os.path.realpath(p)) for p in (Path.cwd(), tempfile.gettempdir())]
    return [] if any(p == songs or p in songs.parents for p in near) else [str(songs)]


def launch_options(demo: gr.Blocks, gallery: Gallery, limits: ServerLimits) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch`` (host/port/theme/css left to the caller)."""
    flood = RateLimiter(limits.requests_per_minute, limits.requests_burst)
    guard = Middleware(WebGuard, data_root=gallery.root, limiter=flood, max_body_bytes=limits.max_body_bytes,
                       max_upload_bytes=parse_size(limits.max_upload), allow_uploads=limits.allow_uploads,
                       blocks=demo)
    return {
        "allowed_paths": allowed_paths(gallery),
        "max_file_size": limits.max_upload,
        "app_kwargs": {"middleware": [guard]},
        "show_error": False,
        "max_threads": max(8, 4 * limits.workers),
    }


STATUS_UPDATE_S = 2.0


def prepare(demo: gr.Blocks, gallery: Gallery, limits: ServerLimits | None = None) -> dict[str, Any]:
    """Recover the gallery, bound the app and return the launch options."""
    setup_logging()
    limits = limits or ServerLimits.from_env()
    report = gallery.recover()
    harden_inputs(demo)
    costly = configure_events(demo, limits)
    demo.delete_cache = (limits.cache_sweep_s, limits.cache_sweep_s)
    # api_open=False: the REST routes (/run, /api) may not skip the queue (Gradio opens them off Spaces).
    # Queue positions go out every STATUS_UPDATE_S, not to every waiting visitor each time a
    # song starts (Gradio's "auto": with 50 waiting that is 50 messages per song, O(n^2)).
    demo.queue(max_size=limits.queue_max, default_concurrency_limit=2 * limits.workers, api_open=False,
               status_update_rate=STATUS_UPDATE_S)
    log.info("serving %d songs (recovery: %s); %d compose slots for %d costly events, queue max %d",
             gallery.count(), report, limits.workers, costly, limits.queue_max)
    return launch_options(demo, gallery, limits)

"""Compose in worker processes: one per core, each with its own interpreter lock, models and
synth (loaded once by the first song, reused after), so two songs really run at once.

``POOL.wrap(studio.compose_and_save)`` returns a function with the same signature that runs
the call in a worker and returns its result; a :class:`~kotone.store.gallery.Gallery`
argument travels as its settings and is reopened (once) in the worker. Game errors come back
as themselves; a worker that dies is replaced and the call fails with a RenderError.

``workers <= 1`` (or ``KOTONE_PROCESS_POOL=0``) runs calls inline, in the caller's thread.

Workers are spawned (the server has threads: never fork it) without re-running the main
script: ``app.py``'s module-level set-up (gallery recovery, Hub restore) belongs to the server.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import functools
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kotone.domain.errors import RenderError

log = logging.getLogger("kotone.web")
F = TypeVar("F", bound=Callable[..., Any])
CALL_TIMEOUT_S = 180.0


def _start_worker(parent_pid: int) -> None:
    """Run in each new worker: one BLAS thread (a worker per core already fills the cores;
    BLAS's own threads on top only add overhead: a song's copies of its notes, mixed by BLAS,
    cost 1.3x the CPU on two threads), and watch the server."""
    try:
        import numpy  # noqa: F401  (threadpoolctl limits only the BLAS libraries already loaded)
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    except Exception as exc:  # a missing or odd BLAS: the worker still composes
        log.warning("cannot limit BLAS threads in a compose worker: %s", type(exc).__name__)
    _watch_parent(parent_pid)


def _watch_parent(parent_pid: int) -> None:
    """Run in each worker: exit as soon as the server is gone (even after ``kill -9``)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="kotone-parent-watch", daemon=True).start()


def _warm() -> float:
    """Run in each new worker: compose and render one song (not saved), so the models, the
    synth and every cache are loaded before a visitor's first song; returns seconds spent."""
    import tempfile
    from pathlib import Path

    from kotone.assets import load_book, load_catalog
    from kotone.pipeline import compose
    from kotone.studio import render_files

    t0 = time.perf_counter()
    catalog = load_catalog()
    load_book()
    choice = {slot: catalog.by_slot(slot)[0].id for slot in ("style", "instrument", "mood", "gimmick")}
    with tempfile.TemporaryDirectory(prefix="kotone-warm-") as tmp:
        render_files(compose(choice, 0), Path(tmp))
    try:  # the release tail of every program, measured now rather than during visitors' songs
        from kotone.render.audio import SAMPLE_RATE
        from kotone.render.soundfont import preload

        preload(tails_at=SAMPLE_RATE)
    except RenderError as exc:  # no TinySoundFont here (a Space): nothing to measure
        log.info("release tails not measured at start-up: %s", exc)
    return time.perf_counter() - t0


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict, slim: Callable[[Any], Any] | None) -> Any:
    result = fn(*args, **kwargs)
    return slim(result) if slim is not None else result


def without_song(result: Any) -> Any:
    """Drop the in-memory ``song`` (its PrettyMIDI is ~70% of the bytes sent back) from a
    ``Composed`` or a ``(Composed, ...)`` tuple: the app uses the saved record and entry."""
    if isinstance(result, tuple):
        return tuple(without_song(r) for r in result)
    if dataclasses.is_dataclass(result) and not isinstance(result, type) and hasattr(result, "song"):
        return dataclasses.replace(result, song=None)
    return result


class ComposePool:
    def __init__(self, workers: int):
        self.workers = max(1, int(workers))
        self._executor: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, workers: int) -> ComposePool:
        return cls(1 if os.environ.get("KOTONE_PROCESS_POOL", "1") == "0" else workers)

    @property
    def inline(self) -> bool:
        return self.workers <= 1

    def _submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        """Submit under the lock, with ``__main__.__file__`` hidden while a worker may be spawned
        (multiprocessing would otherwise run the main script again in every worker)."""
        main = sys.modules["__main__"]
        with self._lock:
            if self._executor is None:
                ctx = multiprocessing.get_context("spawn")
                self._executor = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                                        initializer=_start_worker, initargs=(os.getpid(),))
            path = main.__dict__.pop("__file__", None)
            try:
                return self._executor.submit(fn, *args)
            finally:
                if path is not None:
                    main.__file__ = path

    def start(self) -> None:
        """Start every worker and load its models now, not on a visitor's first song."""
        if self.inline:
            log.info("compose workers ready: none, songs are composed in the server's threads")
            return
        warmed = [self._submit(_warm) for _ in range(self.workers)]
        threading.Thread(target=self._report_warm, args=(warmed,), daemon=True).start()

    @staticmethod
    def _report_warm(futures: list[cf.Future]) -> None:
        try:
            spent = [f.result(timeout=300) for f in futures]
            log.info("compose workers ready: %d, warm-up %.1f s", len(spent), max(spent))
        except Exception as exc:  # a worker that cannot start is reported on its first call too
            log.warning("compose worker warm-up failed: %s", type(exc).__name__)

    def run(self, fn: Callable[..., Any], *args: Any, slim: Callable[[Any], Any] | None = None,
            **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in a worker; ``slim`` (module-level) trims the result there."""
        if self.inline:
            return fn(*args, **kwargs)
        future = self._submit(_call, fn, args, kwargs, slim)
        try:
            return future.result(timeout=CALL_TIMEOUT_S)
        except cf.process.BrokenProcessPool:
            log.exception("a compose worker died; starting new ones")
            self._reset()
            raise RenderError("the composer crashed while making this song; please try again") from None
        except cf.TimeoutError:
            future.cancel()
            raise RenderError(f"this song took longer than {CALL_TIMEOUT_S:.0f} s; please try again") from None

    def wrap(self, fn: F, slim: Callable[[Any], Any] | None = None) -> F:
        """``fn`` (a module-level function) run through :meth:`run`."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return self.run(fn, *args, slim=slim, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _reset(self) -> None:
        with self._lock:
            old, self._executor = self._executor, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._reset()

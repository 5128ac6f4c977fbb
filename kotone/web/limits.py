"""Per-visitor rate limits (token buckets) and how the server's bounds are chosen.

A visitor is a client address, not a browser tab. Directly, it is the address the ASGI
server reports (uvicorn already resolves ``X-Forwarded-For`` from the proxies named in
``$FORWARDED_ALLOW_IPS``, loopback by default). Behind ``$KOTONE_PROXY_HOPS`` proxies that
each append to ``X-Forwarded-For`` (1 on a Hugging Face Space, where ``$SPACE_ID`` is set;
0 elsewhere), it is the address the outermost of them saw, which a visitor cannot forge.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass


def env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def proxy_hops() -> int:
    default = 1 if os.environ.get("SPACE_ID") else 0
    return max(0, int(env_float("KOTONE_PROXY_HOPS", default)))


def visitor_address(forwarded_for: str | None, peer: str | None, hops: int) -> str:
    """The visitor's address from the ``X-Forwarded-For`` header and the connection's peer."""
    if hops > 0 and forwarded_for:
        chain = [p.strip() for p in forwarded_for.split(",") if p.strip()]
        if chain:
            return chain[-hops] if len(chain) >= hops else chain[0]
    return peer or "local"


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``burst`` calls at once, then ``per_minute`` a minute, per key. Thread-safe; keys idle
    long enough to be full again are forgotten, so memory stays bounded by active visitors."""

    def __init__(self, per_minute: float, burst: float, *, max_keys: int = 50_000):
        if per_minute <= 0 or burst < 1:
            raise ValueError(f"rate limit needs per_minute > 0 and burst >= 1, got {per_minute}, {burst}")
        self.rate_s = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one token for ``key``: 0.0 when allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                if len(self._buckets) >= self.max_keys:
                    self._forget_full(now)
                b = self._buckets[key] = _Bucket(self.burst, now)
            b.tokens = min(self.burst, b.tokens + (now - b.at) * self.rate_s)
            b.at = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / self.rate_s

    def refund(self, key: str) -> None:
        """Give back a token spent by :meth:`take` (the call was refused before any work)."""
        with self._lock:
            b = self._buckets.get(key)
            if b is not None:
                b.tokens = min(self.burst, b.tokens + 1.0)

    def _forget_full(self, now: float) -> None:
        full_after = self.burst / self.rate_s
        for k in [k for k, b in self._buckets.items() if now - b.at >= full_after]:
            del self._buckets[k]
        if len(self._buckets) >= self.max_keys:  # still full of active keys: drop the stalest half
            for k in sorted(self._buckets, key=lambda k: self._buckets[k].at)[: self.max_keys // 2]:
                del self._buckets[k]


@dataclass(frozen=True)
class ServerLimits:
    """The server's bounds, from the environment (defaults for a 2-vCPU Space)."""

    workers: int  # songs composed at once: one per core
    queue_max: int  # events waiting in Gradio's queue before "busy, try again"
    compose_per_minute: float  # compose/refine/own-request calls per visitor
    compose_burst: float
    requests_per_minute: float  # any API/queue call per visitor (flood guard)
    requests_burst: float
    max_body_bytes: int  # largest request body outside uploads
    allow_uploads: bool  # the app has no upload component: Gradio's upload route is closed
    max_upload: str  # Gradio's max_file_size, when uploads are allowed
    cache_sweep_s: int  # delete Gradio's cached output copies this often, when this old

    @classmethod
    def from_env(cls) -> ServerLimits:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        workers = max(1, int(env_float("KOTONE_WORKERS", cores)))
        return cls(
            workers=workers,
            queue_max=max(1, int(env_float("KOTONE_QUEUE_MAX", 64))),
            compose_per_minute=env_float("KOTONE_COMPOSE_PER_MINUTE", 12),
            compose_burst=env_float("KOTONE_COMPOSE_BURST", 6),
            requests_per_minute=env_float("KOTONE_REQUESTS_PER_MINUTE", 240),
            requests_burst=env_float("KOTONE_REQUESTS_BURST", 60),
            max_body_bytes=int(env_float("KOTONE_MAX_BODY_BYTES", 256_000)),
            allow_uploads=os.environ.get("KOTONE_ALLOW_UPLOADS", "") == "1",
            max_upload=os.environ.get("KOTONE_MAX_UPLOAD", "1mb"),
            cache_sweep_s=int(env_float("KOTONE_CACHE_SWEEP_S", 3600)),
        )

"""The web edge of every handler: the game's own errors become one clear ``gr.Error`` and one
log line (no traceback); anything else is a real fault and keeps Gradio's traceback.

``limited`` handlers (compose, refine, reading a request) also pass a per-visitor rate limit
and the gallery's capacity check before any work starts.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr
from gradio.context import LocalContext

from kotone.domain.errors import CapacityError, InvalidInputError, KotoneError, NotFoundError
from kotone.web.limits import RateLimiter, proxy_hops, visitor_address

log = logging.getLogger("kotone.web")
F = TypeVar("F", bound=Callable[..., Any])
MAX_MESSAGE_CHARS = 300


def clean_message(text: str) -> str:
    """A message safe to show and to serialize: valid UTF-8, printable, no markup, bounded
    (Gradio renders an error's message as HTML)."""
    text = html.escape(text.encode("utf-8", "replace").decode("utf-8"), quote=False)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def visitor() -> str:
    """The current visitor's address (see :mod:`kotone.web.limits`), or 'local' outside a request."""
    request = LocalContext.request.get(None)
    client = getattr(request, "client", None)
    headers = getattr(request, "headers", None) or {}
    return visitor_address(headers.get("x-forwarded-for"), getattr(client, "host", None), proxy_hops())


def refuse(where: str, exc: KotoneError) -> gr.Error:
    """One log line for a player mistake (or a full server) and the error the player sees."""
    message = clean_message(str(exc) or type(exc).__name__)
    level = logging.WARNING if isinstance(exc, CapacityError) else logging.INFO
    log.log(level, "refused %s: %s: %s", where, type(exc).__name__, message)
    return gr.Error(message, print_exception=False)


def edge(fn: F) -> F:
    """Turn the game's own errors into gr.Error at the edge; nothing else is caught."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KotoneError as exc:
            raise refuse(fn.__name__, exc) from None

    return wrapper  # type: ignore[return-value]


def limited(limiter: RateLimiter | None, *checks: Callable[[], None]) -> Callable[[F], F]:
    """Before a costly handler (compose, refine, reading a request) runs: the visitor's rate
    limit, then ``checks`` (each raises a KotoneError to refuse, e.g. the gallery's capacity
    check). Refusals are KotoneErrors for the edge outside (``edge``, or the UI's in-place
    messages) to show. A call refused for bad input or an unknown id (cheap, before any work)
    gives its token back. Marks the handler for :mod:`kotone.web.server` (one concurrency group)."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            who = visitor()
            if limiter is not None and (wait_s := limiter.take(who)) > 0:
                raise CapacityError(f"you are composing faster than the atelier can keep up; "
                                    f"please wait {wait_s:.0f} s and try again")
            try:
                for check in checks:
                    check()
                return fn(*args, **kwargs)
            except (InvalidInputError, NotFoundError, CapacityError):
                if limiter is not None:
                    limiter.refund(who)
                raise

        wrapper.kotone_costly = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def costly_edge(limiter: RateLimiter | None, *checks: Callable[[], None]) -> Callable[[F], F]:
    """``edge`` around ``limited``: for API endpoints that compose."""

    def decorate(fn: F) -> F:
        return edge(limited(limiter, *checks)(fn))

    return decorate

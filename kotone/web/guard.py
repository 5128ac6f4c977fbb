"""The HTTP edge in front of Gradio (a plain ASGI middleware):

- ``GET /media/<song id>/<file>`` serves a song's audio, MIDI and images, nothing else;
- ``/gradio_api/file=…`` may never reach a file under the data folder other than those
  media (``song.json``, the index, ``.work-*``/``.tmp-*`` folders stay private even when a
  self-hoster adds the data folder to ``allowed_paths``);
- request bodies are bounded; uploads are refused (the app has no upload component) unless
  ``allow_uploads``, then bounded by Gradio's ``max_file_size`` plus a margin;
- each visitor may make ``requests_per_minute`` API/queue calls (429 with a clear message);
- calls to an event or API name that does not exist are refused with 404 (Gradio answers 500);
- Gradio's "queue is full" (503) becomes a friendly "busy, try again" message.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse

from kotone.store.gallery import MEDIA_FILES, SONG_ID_RE
from kotone.web.limits import RateLimiter, proxy_hops, visitor_address

log = logging.getLogger("kotone.web")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BUSY_MESSAGE = ("The atelier is busy with other songs right now; please try again in a minute "
                "(nothing was saved).")
MEDIA_PREFIX = "/media/"
UPLOAD_MARGIN_BYTES = 64_000


def media_route(song_id: str, name: str) -> str:
    """The public URL of one of a song's media files (relative to the app's root)."""
    return f"media/{song_id}/{name}"


def parse_size(text: str) -> int:
    """'1mb' / '500kb' / '2gb' / '1024' -> bytes."""
    t = text.strip().lower()
    for unit, factor in (("kb", 1_000), ("mb", 1_000_000), ("gb", 1_000_000_000), ("b", 1)):
        if t.endswith(unit):
            return int(float(t[: -len(unit)]) * factor)
    return int(float(t))


def api_name_of(path: str) -> str | None:
    """The API name in /gradio_api/{call,call/v2,run,api}/<name>[/<event id>], else None."""
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[0] != "gradio_api" or parts[1] not in ("call", "run", "api"):
        return None
    if parts[1] == "call" and parts[2] == "v2":
        return parts[3] if len(parts) > 3 else None
    return parts[2]


async def send_json(send: Send, status: int, payload: dict[str, Any], headers: list | None = None) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class WebGuard:
    def __init__(self, app: Any, *, data_root: Path, limiter: RateLimiter | None, max_body_bytes: int,
                 max_upload_bytes: int, allow_uploads: bool = False, blocks: Any = None):
        self.app = app
        self.blocks = blocks  # the Gradio Blocks, for its events (fn indexes) and API names
        self.data_root = Path(os.path.realpath(data_root))
        self.songs_dir = self.data_root / "songs"
        self.limiter = limiter
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes + UPLOAD_MARGIN_BYTES
        self.allow_uploads = allow_uploads
        self.proxy_hops = proxy_hops()
        self.quiet = RateLimiter(per_minute=1, burst=1)  # how often a flooding visitor is logged

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        if path.startswith(MEDIA_PREFIX) and method in ("GET", "HEAD"):
            await self.serve_media(path[len(MEDIA_PREFIX):], scope, receive, send)
            return
        if "/file=" in path and not self.file_allowed(path.split("/file=", 1)[1]):
            await send_json(send, 404, {"detail": "Not found."})
            return
        if method in ("POST", "PUT", "PATCH"):
            if self.limiter is not None and path.startswith("/gradio_api/"):
                headers = dict(scope.get("headers") or [])
                forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1") or None
                host = visitor_address(forwarded, (scope.get("client") or ("local", 0))[0], self.proxy_hops)
                wait_s = self.limiter.take(host)
                if wait_s > 0:
                    if self.quiet.take(host) == 0.0:  # one line per visitor a minute, even under a flood
                        log.info("refused %s: too many requests from one visitor (%s)", path, host)
                    await send_json(send, 429, {"detail": f"Too many requests from your address; please wait "
                                                          f"{wait_s:.0f} s and try again."},
                                    [(b"retry-after", str(int(wait_s) + 1).encode())])
                    return
            upload = path.rstrip("/").endswith("/upload")
            if upload and not self.allow_uploads:
                await send_json(send, 403, {"detail": "This app takes no file uploads."})
                return
            limit = self.max_upload_bytes if upload else self.max_body_bytes
            declared = dict(scope.get("headers") or []).get(b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                log.info("refused %s: body of %s bytes over %d", path, declared[:20].decode("latin-1"), limit)
                await send_json(send, 413, {"detail": f"Request too large: at most {limit} bytes."})
                return
            receive = self.bounded(receive, limit)
            if path.startswith("/gradio_api/queue/join"):
                receive, problem = await self.check_join(receive)
                if problem:
                    await send_json(send, 404, {"detail": problem})
                    return
            elif (name := api_name_of(path)) is not None and not self.known_api(name):
                await send_json(send, 404, {"detail": f"No API endpoint named {name[:40]!r}."})
                return
            if path.endswith("/queue/join") or "/call/" in path:
                send = self.busy_rewriter(send)
            if path.startswith("/gradio_api/call/v2/"):
                await self.call_v2(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def call_v2(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Gradio's keyword-argument call route raises TypeError (a 500 and a traceback) for an
        unknown parameter name; answer 400 with what went wrong instead."""
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except TypeError as exc:
            if started:
                raise
            log.info("refused %s: %s", scope.get("path"), str(exc)[:120])
            await send_json(send, 400, {"detail": "Unknown parameter names: the API page lists this "
                                                  "endpoint's parameters."})

    def known_api(self, name: str) -> bool:
        """A named endpoint callable by clients (the UI's private handlers go through the queue)."""
        if self.blocks is None:
            return True
        return any(fn.api_name == name and fn.api_visibility != "private" for fn in self.blocks.fns.values())

    async def check_join(self, receive: Receive) -> tuple[Receive, str | None]:
        """Read a queue/join body (already bounded) and refuse an event index that does not exist."""
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return receive, None
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if self.blocks is None:
            return replay, None
        try:
            fn_index = json.loads(body).get("fn_index")
        except (ValueError, AttributeError):
            return replay, None  # Gradio answers a broken body with 422
        if fn_index is None or (isinstance(fn_index, int) and not isinstance(fn_index, bool)
                                and fn_index in self.blocks.fns):
            return replay, None
        return replay, f"No event with index {str(fn_index)[:20]!r}."

    def file_allowed(self, raw: str) -> bool:
        """False for any path under the data folder that is not a song's media file."""
        try:
            real = Path(os.path.realpath(raw))
        except (OSError, ValueError):
            return False
        if real != self.data_root and self.data_root not in real.parents:
            return True  # not ours: Gradio's own checks apply
        return (real.parent.parent == self.songs_dir and SONG_ID_RE.fullmatch(real.parent.name) is not None
                and real.name in MEDIA_FILES)

    async def serve_media(self, rest: str, scope: Scope, receive: Receive, send: Send) -> None:
        parts = rest.split("/")
        if len(parts) != 2 or not SONG_ID_RE.fullmatch(parts[0]) or parts[1] not in MEDIA_FILES:
            await send_json(send, 404, {"detail": "Not found."})
            return
        path = self.songs_dir / parts[0] / parts[1]
        if not path.is_file():
            await send_json(send, 404, {"detail": "Not found."})
            return
        response = FileResponse(path, headers={"cache-control": "public, max-age=86400, immutable"})
        await response(scope, receive, send)

    @staticmethod
    def bounded(receive: Receive, limit: int) -> Receive:
        """A receive that refuses the request (413) once a streamed body passes ``limit``."""
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    log.info("refused a streamed body over %d bytes", limit)
                    raise HTTPException(413, f"Request too large: at most {limit} bytes.")
            return message

        return wrapped

    @staticmethod
    def busy_rewriter(send: Send) -> Send:
        """Replace the body of Gradio's 503 'queue is full' with :data:`BUSY_MESSAGE`."""
        busy = False

        async def wrapped(message: Message) -> None:
            nonlocal busy
            if message["type"] == "http.response.start" and message.get("status") == 503:
                busy = True
                log.warning("queue full: told a visitor to try again")
                body = json.dumps({"detail": BUSY_MESSAGE}).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
                await send({**message, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            if busy:
                return  # the original body is dropped
            await send(message)

        return wrapped

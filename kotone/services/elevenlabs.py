"""Render a song plan with ElevenLabs Music through the official ``elevenlabs`` SDK.

One function does the paid call, :func:`compose_music`: the composition plan from
``elevenlabs_plan`` goes to ``client.music.compose(composition_plan=..., respect_sections_durations=True,
output_format=...)`` with the ``music_v1`` model that this plan format belongs to. The call is
bounded (an httpx time-out per read plus a wall-clock deadline over the whole download, and a
size cap), is never retried by the SDK (a retry could be billed twice), and every failure
becomes an :class:`ElevenLabsError` whose ``kind`` says what went wrong and whose message a
player can act on. The key is used for the request header only: it is never logged, never
put in an error message and never returned.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kotone.domain.errors import InvalidInputError, KotoneError
from kotone.services.elevenlabs_plan import check_plan, plan_duration_ms

log = logging.getLogger(__name__)

MODEL_ID = "music_v1"  # the model the MusicPrompt plan format (global/local styles, sections) is for
OUTPUT_FORMAT = "mp3_44100_128"
DEFAULT_TIMEOUT_S = 240.0  # a 2-minute song takes the service a while; KOTONE_ELEVENLABS_TIMEOUT_S changes it
MAX_AUDIO_BYTES = 40 * 1024 * 1024
KEY_HELP = ("ElevenLabs renders need an API key: the Space owner can set the ELEVENLABS_API_KEY secret, or you "
            "can paste your own key (elevenlabs.io → Developers → API keys) in the key field; it is used for "
            "your session only and is never stored.")


class ElevenLabsError(KotoneError):
    """A render that did not happen. ``kind``: no_key, bad_prompt, bad_composition_plan,
    unauthorized, quota, rate_limited, invalid_request, timeout, network, service."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, suggestion: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.suggestion = suggestion


@dataclass(frozen=True)
class MusicRender:
    audio: bytes
    model_id: str
    output_format: str
    duration_ms: int  # what the plan asked for (respect_sections_durations=True)
    seconds: float  # wall-clock time of the call
    credits: int | None  # the service's own 'character-cost' header, when it sends one
    request_id: str | None


def timeout_from_env() -> float:
    try:
        value = float(os.environ.get("KOTONE_ELEVENLABS_TIMEOUT_S", DEFAULT_TIMEOUT_S))
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return min(max(value, 5.0), 600.0)


def resolve_key(session_key: str | None = None) -> str | None:
    """The visitor's own key for this session when given, else ELEVENLABS_API_KEY, else None."""
    key = (session_key or "").strip()
    if key:
        if not 16 <= len(key) <= 200 or not key.isascii() or not key.isprintable() or " " in key:
            raise InvalidInputError("that does not look like an ElevenLabs API key (16-200 printable characters, "
                                    "no spaces)")
        return key
    return os.environ.get("ELEVENLABS_API_KEY", "").strip() or None


def scrub(text: str, key: str | None, limit: int = 300) -> str:
    """``text`` without the key, on one line, at most ``limit`` characters."""
    if key:
        text = text.replace(key, "[key]")
    return " ".join(str(text).split())[:limit]


def _detail(body: Any) -> tuple[str, str, dict]:
    """(status word, message, data) from an ElevenLabs error body ``{"detail": {...}}``."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            return "", str(body), {}
    detail = body.get("detail", body) if isinstance(body, Mapping) else body
    if isinstance(detail, list):  # FastAPI-style validation errors: [{"loc", "msg"}, ...]
        msgs = [f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', '')}" for d in detail if isinstance(d, Mapping)]
        return "invalid_request", "; ".join(msgs), {}
    if not isinstance(detail, Mapping):
        return "", str(detail), {}
    data = detail.get("data") if isinstance(detail.get("data"), Mapping) else {}
    return str(detail.get("status") or detail.get("code") or ""), str(detail.get("message") or ""), dict(data)


def _suggestion(data: Mapping[str, Any]) -> str | None:
    prompt = data.get("prompt_suggestion")
    if isinstance(prompt, str) and prompt.strip():
        return prompt.strip()
    plan = data.get("composition_plan_suggestion")
    if isinstance(plan, Mapping):
        styles = plan.get("positive_global_styles") or []
        return "styles: " + ", ".join(map(str, styles)) if styles else json.dumps(plan)[:600]
    if isinstance(plan, str) and plan.strip():
        return plan.strip()
    return None


def classify_api_error(status: int | None, body: Any, key: str | None) -> ElevenLabsError:
    """An HTTP error answer from the service -> the ElevenLabsError a player reads."""
    word, message, data = _detail(body)
    msg = scrub(message, key)
    if word in ("bad_prompt", "bad_composition_plan"):
        hint = _suggestion(data)
        text = f"ElevenLabs rejected this song's {'prompt' if word == 'bad_prompt' else 'composition plan'}"
        text += f": {msg}" if msg else "."
        text += f" It suggests: {scrub(hint, key, 600)}" if hint else " (no suggestion was given)."
        return ElevenLabsError(word, text + " Nothing was saved.", status=status,
                               suggestion=scrub(hint, key, 600) if hint else None)
    if status == 402 or word in ("quota_exceeded", "payment_required", "insufficient_credits"):
        return ElevenLabsError("quota", "The ElevenLabs account behind this key has no credits left for this song "
                               f"(HTTP {status}{': ' + msg if msg else ''}). Nothing was saved.", status=status)
    if status == 401 or word in ("invalid_api_key", "unauthorized"):
        return ElevenLabsError("unauthorized", "ElevenLabs did not accept the API key (HTTP 401). Check the key, or "
                               "paste your own. Nothing was saved.", status=status)
    if status == 429:
        return ElevenLabsError("rate_limited", "ElevenLabs is busy or this key has too many renders running "
                               f"(HTTP 429{': ' + msg if msg else ''}). Try again in a minute. Nothing was saved.",
                               status=status)
    if status in (400, 422):
        return ElevenLabsError("invalid_request", f"ElevenLabs refused the request (HTTP {status}: {msg}). "
                               "Nothing was saved.", status=status)
    return ElevenLabsError("service", f"ElevenLabs answered HTTP {status}{': ' + msg if msg else ''}. Try again "
                           "later. Nothing was saved.", status=status)


def new_http_client(timeout_s: float) -> Any:
    """The httpx client a render uses (tests swap in one with a fake transport)."""
    import httpx

    return httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(15.0, timeout_s)))


def make_client(api_key: str, timeout_s: float, httpx_client: Any) -> Any:
    from elevenlabs.client import ElevenLabs

    return ElevenLabs(api_key=api_key, timeout=timeout_s, httpx_client=httpx_client)


def _download(client: Any, prompt: Any, deadline: float) -> tuple[bytes, dict[str, str]]:
    """Send the request and read the audio; past ``deadline`` a watchdog closes the response
    (so a service that trickles bytes cannot hold the call open) and TimeoutError is raised."""
    chunks: list[bytes] = []
    size = 0
    expired = threading.Event()
    with client.music.with_raw_response.compose(
        composition_plan=prompt, respect_sections_durations=True, output_format=OUTPUT_FORMAT, model_id=MODEL_ID,
        request_options={"max_retries": 0, "chunk_size": 8 * 1024},
    ) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), lambda: (expired.set(), response.close()))
        watchdog.daemon = True
        watchdog.start()
        try:
            for chunk in response.data:
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_AUDIO_BYTES:
                    raise ElevenLabsError("service", "ElevenLabs sent more audio than a song can be; stopped. "
                                          "Nothing was saved.")
                if expired.is_set() or time.monotonic() > deadline:
                    raise TimeoutError
        except Exception:
            if expired.is_set():
                raise TimeoutError from None
            raise
        finally:
            watchdog.cancel()
    return b"".join(chunks), headers


def compose_music(body: Mapping[str, Any], api_key: str | None, *, timeout_s: float | None = None,
                  httpx_client: Any = None) -> MusicRender:
    """Render ``body`` (a composition plan) to audio bytes. Raises ElevenLabsError (never with the key
    in it) or InvalidInputError for a plan the SDK's types reject (no request is sent then)."""
    import httpx
    from elevenlabs.core.api_error import ApiError

    if not api_key:
        raise ElevenLabsError("no_key", KEY_HELP)
    prompt = check_plan(body)
    timeout_s = timeout_s or timeout_from_env()
    t0 = time.monotonic()
    own = httpx_client is None
    if own:
        httpx_client = new_http_client(timeout_s)
    try:
        client = make_client(api_key, timeout_s, httpx_client)
        audio, headers = _download(client, prompt, t0 + timeout_s)
    except ElevenLabsError:
        raise
    except ApiError as exc:
        err = classify_api_error(exc.status_code, exc.body, api_key)
        log.warning("elevenlabs render failed: %s (HTTP %s)", err.kind, exc.status_code)
        raise err from None
    except (TimeoutError, httpx.TimeoutException):
        log.warning("elevenlabs render timed out after %.0f s", time.monotonic() - t0)
        raise ElevenLabsError("timeout", f"ElevenLabs did not finish within {timeout_s:.0f} s. Nothing was saved; "
                              "try again later.") from None
    except (httpx.TransportError, OSError) as exc:
        log.warning("elevenlabs render could not connect: %s", type(exc).__name__)
        raise ElevenLabsError("network", "Could not reach ElevenLabs (no network, or the service is down: "
                              f"{type(exc).__name__}). Nothing was saved.") from None
    finally:
        if own:
            httpx_client.close()
    if not audio:
        raise ElevenLabsError("service", "ElevenLabs answered with no audio. Nothing was saved.")
    credits = headers.get("character-cost")
    return MusicRender(audio=audio, model_id=MODEL_ID, output_format=OUTPUT_FORMAT,
                       duration_ms=plan_duration_ms(body), seconds=time.monotonic() - t0,
                       credits=int(credits) if credits and credits.isdigit() else None,
                       request_id=headers.get("request-id"))

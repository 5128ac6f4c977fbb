"""CLI: ``python -m kotone.interpret [--backend NAME]``.

Reads JSON lines ``{"id": ..., "text": ...}`` on stdin and writes one JSON line per input:
``{"id", "params": {six dims}, "backend", "latency_ms"}`` (plus ``fallback`` and, with
``--justify``, ``justification``). A bad line (not JSON, no text; text that is empty,
whitespace-only, under 3 or over 1,000 characters, or holds control characters, unpaired
surrogates or bytes that are not UTF-8: ``base.check_text``) gives ``{"id", "error": "..."}``
and the stream goes on. Exit status 0 unless the backend itself cannot be loaded (2).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

# one BLAS thread before numpy loads: the embed backend's matmuls are tiny, and threads
# fighting over a shared CPU make tail latency far worse (the backend also limits itself)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from kotone.domain.errors import KotoneError  # noqa: E402 - after the BLAS thread settings


def _dumps(obj: dict) -> str:
    """One JSON line; readable UTF-8 unless something (an id with an unpaired surrogate)
    cannot be encoded, then ASCII escapes, which are still valid JSON."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True)
    return text


def _line_error(ident, message: str) -> str:
    return _dumps({"id": ident, "error": message})


def main(argv: list[str] | None = None) -> int:
    from kotone.interpret import (
        backends,  # noqa: F401 - registers the backends
        base,
    )

    ap = argparse.ArgumentParser(prog="python -m kotone.interpret", description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default=None, help=f"backend name (default: {base.DEFAULT_BACKEND}); "
                    f"known: {', '.join(base.available())}")
    ap.add_argument("--justify", action="store_true", help="add the backend's short justification")
    ap.add_argument("--list", action="store_true", help="list backends and the default, then exit")
    args = ap.parse_args(argv)
    if args.list:
        print(json.dumps({"backends": base.available(), "default": base.DEFAULT_BACKEND}))
        return 0
    try:
        interp = base.get_interpreter(args.backend)
    except Exception as exc:
        print(f"error: cannot load interpreter backend {args.backend or base.DEFAULT_BACKEND!r}: {exc}",
              file=sys.stderr)
        return 2
    out = sys.stdout
    # bytes that are not UTF-8 become unpaired surrogates, which check_text then refuses
    # with a clear per-line error instead of a crash of the whole stream
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            out.write(_line_error(None, f"line {lineno}: not valid JSON ({exc.msg})") + "\n")
            out.flush()
            continue
        if not isinstance(row, dict):
            out.write(_line_error(None, f"line {lineno}: expected a JSON object with 'id' and 'text'") + "\n")
            out.flush()
            continue
        ident = row.get("id")
        if "text" not in row:
            out.write(_line_error(ident, f"line {lineno}: missing 'text'") + "\n")
            out.flush()
            continue
        try:
            res = interp.interpret(row["text"])
        except KotoneError as exc:
            out.write(_line_error(ident, f"line {lineno}: {exc}") + "\n")
            out.flush()
            continue
        except Exception as exc:
            out.write(_line_error(ident, f"line {lineno}: backend failed: {type(exc).__name__}: {exc}") + "\n")
            out.flush()
            continue
        rec = {
            "id": ident,
            "params": res.params.rounded(2),
            "backend": res.backend,
            "latency_ms": round(res.latency_ms, 3),
            "fallback": res.fallback,
        }
        if args.justify:
            rec["justification"] = res.justification
        out.write(_dumps(rec) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

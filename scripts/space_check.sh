#!/usr/bin/env bash
# Does a Space built from this repository's own files boot and compose? As a Space does it:
# packages.txt through apt-get, a fresh virtual environment from requirements.txt alone (no
# setup script, no dev extras), the committed files only, `python app.py` with a Space's
# environment (SPACE_ID, SYSTEM=spaces, no secrets, HF_HUB_OFFLINE=1 so nothing is fetched),
# then one song composed through the named API (scripts/space_smoke.py).
#
# Bounded: install 25 min (measured here: ~4 min with an empty pip cache, torch 2.8.0 + CUDA
# wheels included, ~7.4 GB), boot 4 min, client 5 min. Everything lives in one temporary
# folder that is removed at the end, server included.
#   KOTONE_SPACE_CHECK_PORT   port to serve on (default 7890)
#   KOTONE_SPACE_CHECK_VENV   reuse this environment instead of a fresh one (for local reruns)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${KOTONE_SPACE_CHECK_PORT:-7890}
PY=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kotone-space-check.XXXXXX")
VENV=${KOTONE_SPACE_CHECK_VENV:-$WORK/venv}
SERVER=""
say() { printf '[space-check] %s\n' "$*"; }
cleanup() {
  if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
    kill "$SERVER" 2>/dev/null || true
    sleep 2
    kill -9 "$SERVER" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# 0. Room for it: the install is ~7.4 GB (torch's CUDA wheels). A machine without that much free
#    space cannot run this check at all; say so plainly and skip rather than fail half-way.
free_kb=$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR==2 {print $4}')
if [ -z "${KOTONE_SPACE_CHECK_VENV:-}" ] && [ "${free_kb:-0}" -lt $((12 * 1024 * 1024)) ]; then
  say "SKIPPED: only $((free_kb / 1024)) MB free in ${TMPDIR:-/tmp}; the fresh Space environment needs ~12 GB"
  exit 0
fi

# 1. System packages, as the Space's build installs packages.txt.
missing=()
while read -r p; do
  [ -n "$p" ] && ! dpkg -s "$p" >/dev/null 2>&1 && missing+=("$p")
done < <(grep -v '^\s*#' packages.txt)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "NOTE: packages.txt lists ${missing[*]}, not installed here (not root)"
  fi
fi

# 2. The Space's files: what git tracks, nothing else.
mkdir -p "$WORK/space"
git ls-files -z | xargs -0 cp --parents -t "$WORK/space"

# 3. A fresh environment from requirements.txt alone.
if [ ! -x "$VENV/bin/python" ]; then
  t0=$SECONDS
  "$PY" -m venv "$VENV"
  timeout 1500 "$VENV/bin/python" -m pip install -q -r "$WORK/space/requirements.txt"
  say "fresh install from requirements.txt: $((SECONDS - t0)) s, $(du -sh "$VENV" | cut -f1)"
fi
"$VENV/bin/python" -c "from importlib.metadata import version as v; print('[space-check]', *(f'{p} {v(p)}' for p in \
('torch', 'gradio', 'spaces', 'elevenlabs', 'transformers')))"

# 4. Boot like a Space: its variables, no secrets, nothing downloaded.
mkdir -p "$WORK/data"
(cd "$WORK/space" && exec env -u ELEVENLABS_API_KEY -u HF_TOKEN -u KOTONE_INTERPRETER -u KOTONE_HUB_DATASET \
  SPACE_ID=ci/atelier-kotone SYSTEM=spaces HOST=127.0.0.1 PORT="$PORT" KOTONE_DATA_DIR="$WORK/data" \
  HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False PYTHONUNBUFFERED=1 \
  "$VENV/bin/python" app.py >"$WORK/server.log" 2>&1) &
SERVER=$!
t0=$SECONDS
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/"; do
  if ! kill -0 "$SERVER" 2>/dev/null || [ $((SECONDS - t0)) -gt 240 ]; then
    say "the app did not come up within $((SECONDS - t0)) s; its log:"
    tail -40 "$WORK/server.log"
    exit 1
  fi
  sleep 1
done
say "app up in $((SECONDS - t0)) s (SPACE_ID=ci/atelier-kotone SYSTEM=spaces)"
grep -iE "warning|error|traceback" "$WORK/server.log" | head -5 || true

# 5. One song through the API.
status=0
(cd "$WORK/space" && PYTHONPATH=. timeout 300 "$VENV/bin/python" scripts/space_smoke.py \
  "http://127.0.0.1:$PORT/" "$WORK/data") || status=$?
if [ "$status" != 0 ]; then
  say "server log:"
  tail -40 "$WORK/server.log"
fi
exit "$status"

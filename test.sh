#!/usr/bin/env bash
# Set everything up (including test tools) and run the default test suite.
# Extra arguments go to pytest, e.g.  ./test.sh -k scoring   or   ./test.sh -m slow
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh --dev
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest -q "$@"

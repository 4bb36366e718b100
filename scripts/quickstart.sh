#!/usr/bin/env bash
# Set up (see setup.sh) and run the quick start example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python examples/quickstart.py "$@"

#!/usr/bin/env bash
# Set up (see setup.sh) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-hpc.sh  # SLURM, munge, OpenMPI for tests/hpc (skipped without them)
# graphviz renders .visualize(); install Debian's package when we can (root, apt).
if ! command -v dot >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends graphviz) >/dev/null 2>&1 \
        || echo "note: could not install graphviz; visualize rendering tests will check the error path"
fi
bash scripts/install-chromium.sh  # Debian's chromium for the dashboard's browser tests
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$status"

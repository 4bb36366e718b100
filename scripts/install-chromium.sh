#!/usr/bin/env bash
# Install Debian's chromium for the dashboard's browser tests when it is missing and we can (root,
# apt). Playwright drives this binary; it must never download its own browser (no network for it).
set -uo pipefail
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium) >/dev/null 2>&1 \
        || echo "note: could not install chromium; browser tests will be skipped"
fi
exit 0

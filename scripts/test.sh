#!/usr/bin/env bash
# Install everything the test suite needs, then run all of it (browser tests included).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  # Browser tests use Debian's chromium; Playwright never downloads a browser.
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium not found and apt-get unavailable; browser tests will skip" >&2
  fi
fi

python -m pip install -q -r requirements-dev.txt
python -m ruff check .
set +e
python -m pytest -n 2 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"

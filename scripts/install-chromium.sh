#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright (`playwright install` cannot fetch
# browsers here). Install it when missing and we are root; otherwise say how.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "Chromium is missing: run 'sudo apt-get install chromium' (browser tests skip locally, fail in CI)." >&2
fi

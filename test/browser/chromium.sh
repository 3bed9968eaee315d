#!/usr/bin/env bash
# The browser tests drive Debian's Chromium: installed from the distribution, never a browser download.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  apt-get install -y --no-install-recommends chromium
fi

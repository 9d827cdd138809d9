#!/usr/bin/env bash
# Development setup, as CI runs it from a fresh clone: Debian's Chromium and
# ChromeDriver for the browser test (only when missing), then .venv with the dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
fi
python3 -m venv .venv
.venv/bin/pip install -q -e '.[dev]'

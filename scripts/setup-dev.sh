#!/usr/bin/env bash
# Development setup, as CI runs it from a fresh clone: Debian's Chromium and
# ChromeDriver for the browser test and a Java runtime for the Spark tests (only when
# missing), then .venv with the dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=()
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    packages+=(chromium chromium-driver)
fi
if ! command -v java >/dev/null; then
    packages+=(openjdk-17-jre-headless)
fi
if [ ${#packages[@]} -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"
fi
python3 -m venv .venv
.venv/bin/pip install -q -e '.[dev]'

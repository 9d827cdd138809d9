"""Helpers for driving the page end to end: `linkage serve` in a subprocess and headless
Debian Chromium through selenium (/usr/bin/chromium and /usr/bin/chromedriver, Debian's
chromium and chromium-driver; `scripts/setup-dev.sh` installs them)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(
    result_dir: Path, keys_env: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[str]:
    """`linkage serve RESULT --port P` as a real uvicorn process with keys ``keys_env``
    (``name:role:key,...``) and extra environment ``env``; yields its base URL and
    writes its output to ``log``."""
    port = free_port()
    full_env = {**os.environ, "LINKAGE_API_KEYS": keys_env, **(env or {})}
    cmd = [
        sys.executable,
        "-c",
        "from linkage.cli import app; app()",
        "serve",
        str(result_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"linkage serve did not start:\n{log.read_text()}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def chromium(profile: Path, downloads: Path | None = None) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with its own profile directory (and download directory)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        assert Path(path).exists(), f"{path} is missing: run `bash scripts/setup-dev.sh`"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()

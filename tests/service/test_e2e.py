"""End to end: `linkage serve` in a subprocess, the page driven in headless Debian Chromium.

Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian's chromium and
chromium-driver; `scripts/setup-dev.sh` installs them).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

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
KEY = "e2e-" + "q" * 28


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(result_dir, tmp_path_factory):
    """`linkage serve RESULT --port P` as a real uvicorn process; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "LINKAGE_API_KEYS": f"eve:investigator:{KEY}"}
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
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
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
    assert '"who": "eve"' in log.read_text()  # the audit log names the key, never shows it
    assert KEY not in log.read_text()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    for path in (CHROMIUM, CHROMEDRIVER):
        assert Path(path).exists(), f"{path} is missing: run `bash scripts/setup-dev.sh`"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_investigator_page_in_a_real_browser(server, browser):
    wait = WebDriverWait(browser, 60)
    browser.get(f"{server}/")
    # asks for the key; a wrong one is refused
    key_input = wait.until(ec.visibility_of_element_located((By.ID, "key-input")))
    key_input.send_keys("not-the-key")
    browser.find_element(By.ID, "key-save").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "key-error"), "not accepted"))
    browser.find_element(By.ID, "key-input").send_keys(KEY)
    browser.find_element(By.ID, "key-save").click()
    # the campaign list
    rows = wait.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#campaigns tbody tr[data-campaign]") or False
    )
    campaign = rows[0].get_attribute("data-campaign")
    assert campaign and campaign.startswith("cmp_")
    rows[0].click()
    # the graph is drawn
    wait.until(ec.text_to_be_present_in_element((By.ID, "campaign-title"), "accounts"))
    count = wait.until(
        lambda d: d.execute_script(
            "return window.linkage.cy ? window.linkage.cy.nodes().length : 0"
        )
    )
    assert count > 0
    assert browser.find_elements(By.CSS_SELECTOR, "#cy canvas")
    assert campaign in browser.find_element(By.ID, "campaign-title").text
    # tap an account node, as cytoscape delivers a click on it (a click at its rendered
    # pixel position missed now and then while the layout was still moving)
    key = browser.execute_script(
        """
        const node = window.linkage.cy.nodes('[label = "Account"]')[0];
        node.emit('tap');
        return node.data('key');
        """
    )
    assert key
    wait.until(ec.text_to_be_present_in_element((By.ID, "details"), f"Account {key}"))
    details = browser.find_element(By.ID, "details")
    assert "Why linked" in details.text
    assert details.find_elements(By.CSS_SELECTOR, ".evidence li"), "evidence for the links"
    # search box: an account id, then an indicator
    search = browser.find_element(By.ID, "search")
    search.clear()
    search.send_keys(key)
    browser.find_element(By.ID, "search-go").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), f"Account {key}"))
    ip = browser.execute_script(
        "const n = window.linkage.cy.nodes('[label = \"IP\"]'); "
        "return n.length ? n[0].data('key') : null"
    )
    assert ip
    search = browser.find_element(By.ID, "search")
    search.clear()
    search.send_keys(ip)
    browser.find_element(By.ID, "search-go").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), f"IP {ip}"))
    # the key is kept for the session: a reload goes straight to the list
    browser.refresh()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#campaigns tbody tr[data-campaign]"))
    assert not browser.find_element(By.ID, "key-panel").is_displayed()

"""End to end: `linkage serve` in a subprocess, the page driven in headless Debian Chromium.

Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian's chromium and
chromium-driver; `scripts/setup-dev.sh` installs them).
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.service.browser import chromium, serving

KEY = "e2e-" + "q" * 28


@pytest.fixture(scope="module")
def server(result_dir, tmp_path_factory):
    """`linkage serve RESULT --port P` as a real uvicorn process; yields its base URL."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serving(result_dir, f"eve:investigator:{KEY}", log) as base:
        yield base
    assert '"who": "eve"' in log.read_text()  # the audit log names the key, never shows it
    assert KEY not in log.read_text()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


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
    # the key is kept for the session: a reload shows the same view without asking
    browser.refresh()
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), f"IP {ip}"))
    assert not browser.find_element(By.ID, "key-panel").is_displayed()
    # an investigator may not decide: no decide buttons
    browser.get(f"{server}/#/campaigns/{campaign}")
    wait.until(ec.text_to_be_present_in_element((By.ID, "campaign-title"), "accounts"))
    assert not browser.find_elements(By.CSS_SELECTOR, "button.decide")
    assert not browser.find_elements(By.CSS_SELECTOR, "button.export-banlist")  # admin only
    assert browser.find_elements(By.CSS_SELECTOR, "button.export-graphml")

"""The investigator's review in headless Chromium against `linkage serve` on the session's
simulated result: routes (Back, shared links), every evidence type drawn with a legend,
the score and timeline charts, a campaign's exports, and decisions made on the page that
survive `linkage detect --previous OLD --state STATE`.

Screenshots of each view go to ``$LINKAGE_SCREENSHOTS`` when set (the repo's
``docs/screenshots/`` is made so), else to the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from linkage.schema import ENTITY_LABELS
from tests.service.browser import chromium, serving

ADMIN = "adm-" + "r" * 28
INVESTIGATOR = "inv-" + "s" * 28
REVIEWER = "rev-" + "t" * 28
KEYS = f"ada:admin:{ADMIN},ivan:investigator:{INVESTIGATOR},rita:reviewer:{REVIEWER}"


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = os.environ.get("LINKAGE_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(result_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serving(result_dir, KEYS, log) as base:
        yield base
    assert ADMIN not in log.read_text() and INVESTIGATOR not in log.read_text()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory, downloads):
    with chromium(tmp_path_factory.mktemp("chromium-profile"), downloads) as driver:
        yield driver


def get(base: str, path: str, key: str = ADMIN) -> dict:
    req = urllib.request.Request(f"{base}{path}", headers={"X-API-Key": key})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def sign_in(browser, base: str, key: str, path: str = "/") -> WebDriverWait:
    """Open ``path`` in a fresh tab state and enter ``key`` when asked."""
    wait = WebDriverWait(browser, 60)
    browser.get(f"{base}/")
    browser.execute_script("sessionStorage.clear()")
    browser.get(f"{base}{path}")
    browser.refresh()
    wait.until(ec.visibility_of_element_located((By.ID, "key-input"))).send_keys(key)
    browser.find_element(By.ID, "key-save").click()
    return wait


def graph_drawn(browser, campaign: str) -> WebDriverWait:
    wait = WebDriverWait(browser, 60)
    wait.until(ec.text_to_be_present_in_element((By.ID, "campaign-title"), f"{campaign}:"))
    wait.until(
        lambda d: d.execute_script(
            "const cy = window.linkage.cy; return cy && cy.nodes().length > 0 "
            "&& cy.container() && cy.container().isConnected"
        )
    )
    return wait


def test_back_walks_list_campaign_account_and_a_shared_link_opens_its_view(server, browser, shots):
    wait = sign_in(browser, server, ADMIN)
    rows = wait.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#campaigns tbody tr[data-campaign]") or False
    )
    browser.save_screenshot(str(shots / "1-campaign-list.png"))
    campaign = rows[0].get_attribute("data-campaign")
    rows[0].find_elements(By.TAG_NAME, "td")[1].click()  # the row, not its link
    graph_drawn(browser, campaign)
    assert browser.execute_script("return location.hash") == f"#/campaigns/{campaign}"
    browser.save_screenshot(str(shots / "2-campaign.png"))
    # an account node's details, then its own page
    key = browser.execute_script(
        "const n = window.linkage.cy.nodes('[label = \"Account\"]')[0]; n.emit('tap'); "
        "return n.data('key');"
    )
    wait.until(ec.text_to_be_present_in_element((By.ID, "details"), f"Account {key}"))
    browser.find_element(By.LINK_TEXT, "Open this account's page").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), f"Account {key}"))
    assert browser.execute_script("return location.hash") == f"#/accounts/{key}"
    browser.save_screenshot(str(shots / "3-account.png"))
    # an entity it used
    entity = browser.find_element(By.CSS_SELECTOR, "#result ul:last-of-type a.linklike")
    title = entity.get_attribute("title")
    entity.click()
    wait.until(lambda d: d.execute_script("return location.hash.startsWith('#/entities/')"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), "accounts,"))
    assert title.split(":", 1)[0] in browser.execute_script("return location.hash")
    browser.save_screenshot(str(shots / "4-entity.png"))
    # Back: entity -> account -> campaign -> list
    browser.back()
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), f"Account {key}"))
    browser.back()
    graph_drawn(browser, campaign)
    assert browser.find_element(By.ID, "campaign-view").is_displayed()
    browser.back()
    wait.until(lambda d: d.find_element(By.ID, "list-view").is_displayed())
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#campaigns tbody tr[data-campaign]"))
    # a shared link, opened in a tab without the key: asks for it, then shows that view
    other = get(server, "/campaigns?sort=size&limit=1")["data"][0]["campaign_id"]
    sign_in(browser, server, INVESTIGATOR, f"/#/campaigns/{other}")
    graph_drawn(browser, other)
    assert browser.find_element(By.ID, "campaign-view").is_displayed()
    # and a shared account link with an id that needs escaping is shown as text
    odd = '<img src=x onerror="window.pwned=1">'
    browser.get(f"{server}/#/accounts/{urllib.parse.quote(odd, safe='')}")
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "not in this result"))
    assert browser.execute_script("return window.pwned === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "main img")


def test_every_evidence_type_of_a_campaign_is_drawn_with_a_legend(server, browser):
    sign_in(browser, server, INVESTIGATOR)
    campaigns = get(server, "/campaigns?limit=200", INVESTIGATOR)["data"]
    for c in campaigns:
        cid = c["campaign_id"]
        browser.get(f"{server}/#/campaigns/{cid}")
        graph_drawn(browser, cid)
        drawn = browser.execute_script(
            "const cy = window.linkage.cy;"
            "return {labels: [...new Set(cy.nodes().map((n) => n.data('label')))],"
            " edges: [...new Set(cy.edges().map((e) => e.data('type')))],"
            " floating: cy.nodes().filter((n) => n.degree() === 0).map((n) => n.id())};"
        )
        detail = get(server, f"/campaigns/{cid}", INVESTIGATOR)
        want = {ENTITY_LABELS[t] for t in detail["indicators"]}
        assert want <= set(drawn["labels"]), (cid, want - set(drawn["labels"]))
        assert not drawn["floating"], (cid, drawn["floating"][:5])
        legend_nodes = {
            e.get_attribute("data-legend-node")
            for e in browser.find_elements(By.CSS_SELECTOR, "#legend [data-legend-node]")
        }
        legend_edges = {
            e.get_attribute("data-legend-edge")
            for e in browser.find_elements(By.CSS_SELECTOR, "#legend [data-legend-edge]")
        }
        assert legend_nodes == set(drawn["labels"])
        assert legend_edges == set(drawn["edges"])


def test_score_make_up_and_timeline_charts(server, browser, shots):
    sign_in(browser, server, INVESTIGATOR)
    c = get(server, "/campaigns?limit=1", INVESTIGATOR)["data"][0]
    cid = c["campaign_id"]
    browser.get(f"{server}/#/campaigns/{cid}")
    graph_drawn(browser, cid)
    detail = get(server, f"/campaigns/{cid}", INVESTIGATOR)
    bars = browser.find_elements(By.CSS_SELECTOR, "#contributions svg rect[data-feature]")
    want = {k for k, v in detail["contributions"].items() if abs(v) >= 0.005}
    assert {b.get_attribute("data-feature") for b in bars} == want and want
    ups = {
        b.get_attribute("data-feature")
        for b in bars
        if "bar-up" in (b.get_attribute("class") or "")
    }
    assert ups == {k for k in want if detail["contributions"][k] > 0}
    days = browser.find_elements(By.CSS_SELECTOR, "#timeline svg rect[data-day]")
    assert [d.get_attribute("data-day") for d in days] == [t["day"] for t in detail["timeline"]]
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline svg polyline.line-plat")
    ticks = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#timeline .tick-day")]
    assert ticks and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in ticks)
    assert ticks[0] == detail["baseline"][0]["day"]
    chart = browser.find_element(By.ID, "contributions")
    browser.execute_script(
        "arguments[0].previousElementSibling.previousElementSibling.scrollIntoView()", chart
    )
    browser.save_screenshot(str(shots / "5-charts.png"))


def test_an_admin_exports_a_campaign(server, browser, downloads):
    wait = sign_in(browser, server, ADMIN)
    cid = get(server, "/campaigns?limit=1")["data"][0]["campaign_id"]
    browser.get(f"{server}/#/campaigns/{cid}")
    graph_drawn(browser, cid)
    for cls, name in (
        ("export-banlist", f"banlist-{cid}.csv"),
        ("export-stix", f"{cid}.stix.json"),
        ("export-graphml", f"{cid}.graphml"),
    ):
        browser.find_element(By.CSS_SELECTOR, f"button.{cls}").click()
        wait.until(
            lambda d, name=name: (
                d.find_element(By.CSS_SELECTOR, ".export-msg").get_attribute("data-exported")
                == name
            )
        )
        assert "Exported" in browser.find_element(By.CSS_SELECTOR, ".export-msg").text
        assert not browser.find_element(By.ID, "status").text
    banlist = downloads / f"banlist-{cid}.csv"
    wait.until(lambda _: banlist.exists() and banlist.stat().st_size > 0)
    req = urllib.request.Request(
        f"{server}/campaigns/{cid}/banlist?format=csv", headers={"X-API-Key": ADMIN}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert banlist.read_bytes() == r.read()
    stix = json.loads((downloads / f"{cid}.stix.json").read_text())
    assert stix["type"] == "bundle"
    # this server keeps no decisions: deciding says so
    browser.find_element(By.CSS_SELECTOR, "button.decide-watch").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "LINKAGE_STATE_DIR"))


def decision_shown(browser, action: str) -> str:
    """Wait for the decision panel to show ``action``; its text."""
    wait = WebDriverWait(browser, 60)
    shown = (By.CSS_SELECTOR, ".decision:not([hidden]) .decision-now")
    wait.until(
        lambda d: any(
            e.get_attribute("data-decision") == action and e.is_displayed()
            for e in d.find_elements(*shown)
        )
    )
    return next(e.text for e in browser.find_elements(*shown) if e.is_displayed())


def run_cli(*args: str) -> None:
    cmd = [sys.executable, "-c", "from linkage.cli import app; app()", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_decisions_made_on_the_page_survive_a_rerun(
    detected, result_dir, browser, shots, tmp_path_factory
):
    work = tmp_path_factory.mktemp("review")
    state, new = work / "state", work / "new"
    env = {"LINKAGE_STATE_DIR": str(state)}
    with serving(result_dir, KEYS, work / "old.log", env) as base:
        cid, other = (c["campaign_id"] for c in get(base, "/campaigns?limit=2", REVIEWER)["data"])
        wait = sign_in(browser, base, REVIEWER, f"/#/campaigns/{cid}")
        graph_drawn(browser, cid)
        assert not browser.find_elements(By.CSS_SELECTOR, "button.export-banlist")  # admin only
        assert decision_shown(browser, "") == "No decision yet."
        note = 'Acme\'s eval team, under contract <b onmouseover="x()">#4411</b>'
        browser.find_element(By.ID, "campaign-note").send_keys(note)
        browser.find_element(By.CSS_SELECTOR, "button.decide-dismiss").click()
        text = decision_shown(browser, "dismiss")
        assert text.startswith("Dismissed by rita at ") and note in text  # as text, not markup
        assert "pending" in text
        assert not browser.find_elements(By.CSS_SELECTOR, "#campaign-decision b")
        browser.save_screenshot(str(shots / "6-campaign-dismissed.png"))
        # an account of another campaign: confirm (no watch for accounts)
        member = get(base, f"/campaigns/{other}/subgraph?max_nodes=20", REVIEWER)["nodes"][0]
        assert member["label"] == "Account"
        browser.get(f"{base}/#/accounts/{member['key']}")
        wait.until(ec.text_to_be_present_in_element((By.ID, "result"), f"Account {member['key']}"))
        assert not browser.find_elements(By.CSS_SELECTOR, "#account-decision button.decide-watch")
        browser.find_element(By.ID, "account-note").send_keys("same card as the confirmed ring")
        browser.find_element(By.CSS_SELECTOR, "#account-decision button.decide-confirm").click()
        assert decision_shown(browser, "confirm").startswith("Confirmed by rita at ")
        browser.save_screenshot(str(shots / "7-account-confirmed.png"))
        logged = get(base, f"/decisions?target=campaign&id={cid}", REVIEWER)["data"]
        assert [(d["action"], d["by"], d["note"]) for d in logged] == [("dismiss", "rita", note)]

    run_cli(
        "detect", str(detected[0] / "data"), "--out", str(new),
        "--previous", str(result_dir), "--state", str(state),
    )  # fmt: skip

    with serving(new, KEYS, work / "new.log", env) as base:
        sign_in(browser, base, INVESTIGATOR, f"/#/campaigns/{cid}")
        graph_drawn(browser, cid)
        text = decision_shown(browser, "dismiss")
        assert text.startswith("Dismissed by rita at ") and "applied in this run" in text
        assert note in text
        assert not browser.find_elements(By.CSS_SELECTOR, "button.decide")  # investigator
        assert ", 0 flagged" in browser.find_element(By.ID, "campaign-title").text
        browser.save_screenshot(str(shots / "8-after-rerun.png"))
        browser.get(f"{base}/#/accounts/{member['key']}")
        assert "applied in this run" in decision_shown(browser, "confirm")

"""report.html as the on-call opens it: in a real browser (headless Chromium, driven over the DevTools
protocol), a failing check's name and message are on the first screen, above the fold."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import httpx
import pytest
import websocket

from nbaverify import procs, render, run_history
from tests.unit.test_run_history import LAG, summary

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)")
WIDTH, HEIGHT = 1280, 800


def evaluate(page_url: str, expression: str):
    port = procs.free_port()
    browser = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={WIDTH},{HEIGHT}",
                                f"--remote-debugging-port={port}", "--user-data-dir=/tmp/nbaverify-chromium-test", page_url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pages = [t for t in httpx.get(f"http://127.0.0.1:{port}/json", timeout=2).json() if t["type"] == "page"]
                if pages and pages[0]["url"].startswith("file:"):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "Chromium did not open the page"
            time.sleep(0.2)
        socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=10)
        try:
            for _ in range(50):  # until the page has loaded
                socket.send(json.dumps({"id": 1, "method": "Runtime.evaluate",
                                        "params": {"expression": "document.readyState", "returnByValue": True}}))
                if json.loads(socket.recv())["result"]["result"]["value"] == "complete":
                    break
                time.sleep(0.1)
            socket.send(json.dumps({"id": 2, "method": "Runtime.evaluate",
                                    "params": {"expression": expression, "returnByValue": True}}))
            return json.loads(socket.recv())["result"]["result"]["value"]
        finally:
            socket.close()
    finally:
        browser.kill()
        browser.wait(10)


def test_a_failing_check_and_its_message_are_on_the_first_screen(tmp_path):
    past = [run_history.entry(summary(f"run-{n:02d}", {LAG: "passed"})) for n in range(1, 6)]
    now = summary("run-06", {LAG: "failed"})
    page = tmp_path / "report.html"
    page.write_text(render.html_report(now, run_history.triage(now, past)))
    seen = evaluate(page.as_uri(), """(() => {
        const finding = document.querySelector('#broken .finding');
        const box = finding.getBoundingClientRect();
        return {text: finding.innerText, bottom: box.bottom, height: window.innerHeight};
    })()""")
    assert LAG in seen["text"] and "lags 9 MB (limit 1 MB)" in seen["text"] and "new in this run" in seen["text"]
    assert seen["bottom"] <= seen["height"], f"the failure ends {seen['bottom']}px down, below the first screen"


def test_the_compliance_page_shows_its_missed_runs_and_open_failures(tmp_path):
    import datetime as dt

    from nbaverify import compliance_page, evidence
    from tests.unit.test_evidence import HEALTH, run_record

    run_record(tmp_path, "2026-11-01T06:00:00Z", "daily", {LAG: "passed"})
    run_record(tmp_path, "2026-11-04T18:00:00Z", "daily", {LAG: "passed", HEALTH: "failed"})
    records = evidence.collect(tmp_path, "staging", dt.date(2026, 11, 1), dt.date(2026, 11, 5))
    page = tmp_path / "compliance.html"
    page.write_text(compliance_page.render(evidence.build_report(records, dt.date(2026, 11, 1), dt.date(2026, 11, 5),
                                                                  "staging")))
    seen = evaluate(page.as_uri(), """(() => ({
        missed: [...document.querySelectorAll('svg rect title')].filter(t => t.textContent.endsWith('missed')).length,
        bars: [...document.querySelectorAll('svg rect title')].filter(t => t.textContent.includes('still open')).length,
        first_strip_top: document.querySelector('svg').getBoundingClientRect().top, height: window.innerHeight}))()""")
    assert seen["missed"] >= 3 and seen["bars"] == 1 and seen["first_strip_top"] < seen["height"]

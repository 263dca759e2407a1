"""report.html as the on-call opens it: in a real browser (headless Chromium, driven over the
DevTools protocol), a failing check's name and message are on the first screen, above the fold."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time

import httpx
import pytest
import websocket

from nbaverify import procs
from nbaverify.reports import render, run_history
from tests.unit.test_run_history import LAG, summary

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (apt-get install chromium)"
)
WIDTH, HEIGHT = 1280, 800


def _call(socket, expression: str):
    """Runtime.evaluate, its answer picked out from any event the browser sends meanwhile."""
    number = int(time.monotonic() * 1000)
    socket.send(
        json.dumps(
            {
                "id": number,
                "method": "Runtime.evaluate",
                "params": {"expression": expression, "returnByValue": True},
            }
        )
    )
    while True:
        message = json.loads(socket.recv())
        if message.get("id") == number:
            return message.get("result", {}).get("result", {}).get("value")


def evaluate(page_url: str, expression: str):
    port = procs.free_port()
    # a browser of its own: no profile lock shared
    profile = tempfile.mkdtemp(prefix="nbaverify-chromium-")
    browser = subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--remote-debugging-port={port}",
            f"--user-data-dir={profile}",
            page_url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pages = [
                    t
                    for t in httpx.get(f"http://127.0.0.1:{port}/json", timeout=2).json()
                    if t["type"] == "page"
                ]
                if pages and pages[0]["url"].startswith("file:"):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "Chromium did not open the page"
            time.sleep(0.2)
        socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=10)
        try:
            for _ in range(100):  # until the page has loaded (a navigation may still be under way)
                if (
                    _call(socket, "location.protocol === 'file:' && document.readyState")
                    == "complete"
                ):
                    break
                time.sleep(0.1)
            return _call(socket, expression)
        finally:
            socket.close()
    finally:
        browser.kill()
        browser.wait(10)
        shutil.rmtree(profile, ignore_errors=True)


def test_a_failing_check_and_its_message_are_on_the_first_screen(tmp_path):
    past = [run_history.entry(summary(f"run-{n:02d}", {LAG: "passed"})) for n in range(1, 6)]
    now = summary("run-06", {LAG: "failed"})
    page = tmp_path / "report.html"
    page.write_text(render.html_report(now, run_history.triage(now, past)))
    seen = evaluate(
        page.as_uri(),
        """(() => {
        const finding = document.querySelector('#broken .finding');
        const box = finding.getBoundingClientRect();
        return {text: finding.innerText, bottom: box.bottom, height: window.innerHeight};
    })()""",
    )
    assert (
        LAG in seen["text"]
        and "lags 9 MB (limit 1 MB)" in seen["text"]
        and "new in this run" in seen["text"]
    )
    assert seen["bottom"] <= seen["height"], (
        f"the failure ends {seen['bottom']}px down, below the first screen"
    )


def test_the_compliance_page_shows_its_missed_runs_and_open_failures(tmp_path):
    import datetime as dt

    from nbaverify.reports import compliance_page, evidence_records
    from tests.unit.test_evidence import HEALTH, run_record

    run_record(tmp_path, "2026-11-01T06:00:00Z", "daily", {LAG: "passed"})
    run_record(tmp_path, "2026-11-04T18:00:00Z", "daily", {LAG: "passed", HEALTH: "failed"})
    records = evidence_records.collect(
        tmp_path, "staging", dt.date(2026, 11, 1), dt.date(2026, 11, 5)
    )
    page = tmp_path / "compliance.html"
    page.write_text(
        compliance_page.render(
            evidence_records.build_report(
                records, dt.date(2026, 11, 1), dt.date(2026, 11, 5), "staging"
            )
        )
    )
    seen = evaluate(
        page.as_uri(),
        """(() => ({
        missed: [...document.querySelectorAll('svg rect title')]
            .filter(t => t.textContent.endsWith('missed')).length,
        bars: [...document.querySelectorAll('svg rect title')]
            .filter(t => t.textContent.includes('still open')).length,
        open_row: (() => {
            const row = [...document.querySelectorAll('td')]
                .find(t => t.textContent === 'still open').closest('tr');
            return {text: row.innerText, bottom: row.getBoundingClientRect().bottom}; })(),
        height: window.innerHeight}))()""",
    )
    assert seen["missed"] >= 3 and seen["bars"] == 1
    assert (
        HEALTH in seen["open_row"]["text"] and "check_health_ok failed" in seen["open_row"]["text"]
    )
    assert seen["open_row"]["bottom"] <= seen["height"], (
        "the open failure is below the first screen"
    )


def test_the_capacity_report_answers_on_the_first_screen_and_draws_its_chart(tmp_path):
    from nbaverify.reports import capacity_report
    from tests.unit.test_capacity_search import capacity_report_files

    _, plan = capacity_report_files(tmp_path)
    seen = evaluate(
        (tmp_path / "report.html").as_uri(),
        """(() => {
        const answer = [...document.querySelectorAll('p b')]
            .find(b => b.textContent.startsWith('The platform held'));
        const chart = document.querySelector('img[alt^="latency and achieved rate"]');
        return {answer: answer.textContent, bottom: answer.getBoundingClientRect().bottom,
                height: window.innerHeight, chart: chart.naturalWidth};
    })()""",
    )
    assert seen["answer"] == capacity_report.answer(plan)
    assert seen["bottom"] <= seen["height"], "the capacity answer is below the first screen"
    assert seen["chart"] > 500, "the chart did not load"


@pytest.mark.parametrize(
    ("since", "until", "days"),
    [
        ("2026-11-01", "2026-11-30", 30),
        ("2026-10-01", "2026-12-31", 92),
        ("2026-01-01", "2026-12-31", 365),
    ],
    ids=["month", "quarter", "year"],
)
def test_the_compliance_page_reads_at_1280_px_for_a_month_a_quarter_and_a_year(
    tmp_path, since, until, days
):
    """An annual audit's year lays out as a calendar: nothing runs off the right edge, no header or
    cadence wraps."""
    import datetime as dt

    from nbaverify.reports import compliance_page, evidence_records
    from tests.unit.test_evidence import HEALTH, run_record

    first, last = dt.date.fromisoformat(since), dt.date.fromisoformat(until)
    for n in range(0, days, 2):  # every other day: half the squares missed
        day = first + dt.timedelta(days=n)
        run_record(
            tmp_path,
            f"{day}T06:00:00Z",
            "daily",
            {LAG: "passed", HEALTH: "failed" if n == 4 else "passed"},
        )
    page = tmp_path / "compliance.html"
    page.write_text(
        compliance_page.render(
            evidence_records.build_report(
                evidence_records.collect(tmp_path, "staging", first, last), first, last, "staging"
            )
        )
    )
    seen = evaluate(
        page.as_uri(),
        """(() => {
        const lines = el => { const r = document.createRange(); r.selectNodeContents(el);
            return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; };
        const daily = document.querySelector('svg[aria-label^="daily"]');
        return {scroll: document.documentElement.scrollWidth, width: window.innerWidth,
                days: daily.querySelectorAll('rect').length,
                right: daily.getBoundingClientRect().right,
                wrapped: [...document.querySelectorAll('th, table.schedule td:first-child')]
                    .filter(el => lines(el) > 1).map(el => el.textContent)};
    })()""",
    )
    assert seen["days"] == days
    assert seen["scroll"] <= seen["width"] and seen["right"] <= WIDTH, (
        f"{seen['scroll']}px wide at {WIDTH}px"
    )
    assert seen["wrapped"] == [], "headers or cadences broken over lines"

"""The stylesheet every HTML page the suite writes begins with (the run's report, the load report,
the compliance page): one type, one palette, one table, one badge per verdict, so the pages read as
one product. Each page adds only what is its own. Inline, never linked: each page is one file that
survives as a CI artifact."""

BASE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2733;background:#fafbfc}
h1{font-size:1.4rem;margin:0 0 .3rem} h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
h3{font-size:1rem;margin:.8rem 0 .3rem}
.meta,.note,.section{color:#56606b} small,.muted{color:#6b7580;font-weight:400}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:.3rem;color:#fff;font-weight:600}
.OK,.PASS{background:#1a7f37} .WARNING{background:#b7791f} .CRITICAL,.FAIL{background:#c62828}
.INTERRUPTED{background:#8a6d00}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:.4rem .6rem;border-bottom:1px solid #e6e9ed;text-align:left;vertical-align:top}
th{background:#f0f3f6}
code{font-size:12px} pre{margin:.3rem 0
0;font-size:12px;white-space:pre-wrap;background:#f6f8fa;padding:.5rem}
"""


def stylesheet(own: str = "") -> str:
    """The shared rules, then the page's own (later rules win where both set one)."""
    return BASE + own

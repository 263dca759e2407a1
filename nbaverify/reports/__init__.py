"""Every report the suite writes, in one stylesheet: a check run's (summary.json, JUnit, Markdown,
HTML, SARIF, its evidence record, its line in the run history, its metrics), a load run's (with its
capacity and traffic-mix sections), and the period's compliance report. Each renders data it is
handed; none imports the plugin or the load runner back.
"""

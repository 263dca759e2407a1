"""`nbaverify load`: Locust scenarios (load/) run as a subprocess, judged by thresholds kept as
data.

Locust is never imported into nbaverify or pytest (it monkey-patches with gevent and breaks after
urllib3): the runner starts it, reads its CSV files, and renders the verdict and the report.
"""

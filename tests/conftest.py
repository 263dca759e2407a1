"""Self-tests: unit tests of nbaverify/ (offline), and the fault matrix against a real sandbox."""

pytest_plugins = ["pytester"]

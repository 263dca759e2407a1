# Loads the nbaverify plugin for every pytest run from this checkout: `pytest checks --target T`.
pytest_plugins = ["nbaverify.plugin"]

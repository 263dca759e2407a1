"""docs/architecture.md names every module of the package, in the table of its folder, and no module
that is gone."""

import re

from nbaverify.shipped import CHECKOUT

FOLDERS = {
    "Top-level modules": "",
    "`clients/`": "clients",
    "`probes/`": "probes",
    "`plugins/`": "plugins",
    "`loadtest/`": "loadtest",
    "`reports/`": "reports",
}


def test_every_module_has_its_row_and_every_row_its_module():
    page = (CHECKOUT / "docs" / "architecture.md").read_text()
    sections = re.split(r"^### ", page, flags=re.M)[1:]
    for heading, folder in FOLDERS.items():
        (section,) = [s for s in sections if s.startswith(heading)]
        named = set(re.findall(r"^\| `([\w.]+\.py(?:|\w*))` \|", section, flags=re.M))
        here = CHECKOUT / "nbaverify" / folder
        modules = {p.name for p in here.glob("*.py")} - {"__init__.py"} | (
            {"__init__.py"} if not folder else set()
        )
        assert named == modules, (
            f"{heading}: rows without a module {sorted(named - modules)}, "
            f"modules without a row {sorted(modules - named)}"
        )

"""The guide-to-checks map (fixtures/coverage.toml) names only checks that exist, and says why otherwise."""

import re
import tomllib

from nbaverify.shipped import CHECKOUT as PROJECT_ROOT

MAP = tomllib.loads((PROJECT_ROOT / "fixtures" / "coverage.toml").read_text())["item"]


def test_every_mapped_check_exists():
    missing = []
    for entry in MAP:
        for check in entry.get("checks", []):
            module, name = check.split("::")
            if not re.search(rf"^def {name}\(", (PROJECT_ROOT / "checks" / module).read_text(), re.MULTILINE):
                missing.append(check)
    assert not missing


def test_every_item_is_checked_or_says_why_not():
    bare = [e["section"] for e in MAP if not (e.get("checks") or e.get("manual") or e.get("planned") or e.get("command"))]
    assert not bare


def test_every_check_is_in_the_map():
    mapped = {c.split("::")[1] for e in MAP for c in e.get("checks", [])}
    defined = {m for path in (PROJECT_ROOT / "checks").glob("test_*.py")
               for m in re.findall(r"^def (check_\w+)\(", path.read_text(), re.MULTILINE)}
    assert defined - mapped == set()


def test_the_readme_shows_the_current_map():
    from nbaverify.coverage import markdown_table

    assert markdown_table() in (PROJECT_ROOT / "README.md").read_text()


def test_the_readme_shows_the_current_fault_catalogue():
    from nbaverify.sandbox.faults import markdown_table

    assert markdown_table() in (PROJECT_ROOT / "README.md").read_text()

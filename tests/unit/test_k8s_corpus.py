"""The shipped Kubernetes checks over the corpus (tests/data/k8s-corpus): each case laid over the
reference manifests, the real checks run through pytest on the manifests source, and the verdict
table held exactly: the checks it names fail with a message matching its pattern, every other one
passes or skips because it needs a live cluster, and none errs."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from nbaverify import shipped

CORPUS = Path(__file__).parent.parent / "data" / "k8s-corpus"
VERDICTS = tomllib.loads((CORPUS / "verdicts.toml").read_text())
# the skips a healthy case may show: status only a live cluster has, and Secrets (manifests hold
# none)
ACCEPTED_SKIPS = ('not configured: kubernetes.source = "cluster"', "no Secret of types")


def key(obj: dict) -> tuple:
    meta = obj.get("metadata") or {}
    return obj.get("kind"), meta.get("namespace", "nba-stats"), meta.get("name")


def lay_over(case: str, into: Path) -> None:
    """The reference manifests, less what the case deletes and what it replaces, then the case's
    file as written."""
    text = (CORPUS / f"{case}.yaml").read_text()
    try:
        replaced = {
            key(o) for o in yaml.safe_load_all(text) if isinstance(o, dict) and o.get("kind")
        }
    except yaml.YAMLError:
        replaced = set()
    deleted = set()
    for entry in VERDICTS[case].get("delete", []):
        kind, _, where = entry.partition(" ")
        namespace, _, name = where.partition("/")
        deleted.add((kind, namespace, name))
    for path in sorted(shipped.K8S_MANIFESTS.glob("*.yaml")):
        kept = [
            o
            for o in yaml.safe_load_all(path.read_text())
            if o and key(o) not in replaced | deleted
        ]
        (into / path.name).write_text(yaml.safe_dump_all(kept, sort_keys=False))
    (into / f"zz-{case}.yaml").write_text(text)


def profile(tmp_path: Path, manifests: Path) -> Path:
    path = tmp_path / "corpus.toml"
    path.write_text(
        'name = "corpus"\nenvironment = "test"\n\n[kubernetes]\nsource = "manifests"\n'
        f'manifests = "{manifests}"\nnamespace = "nba-stats"\n'
    )
    return path


@pytest.mark.parametrize("case", sorted(VERDICTS))
def test_each_case_reads_as_its_verdict_says(case, tmp_path, monkeypatch):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    lay_over(case, manifests)
    out = tmp_path / "out"
    monkeypatch.setenv("NBAVERIFY_STATE_DIR", str(tmp_path / "state"))
    code = pytest.main(
        [
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:locust",
            "-p",
            "no:pytest11.testinfra",
            "--rootdir",
            str(shipped.CHECKS.parent),
            "--target",
            str(profile(tmp_path, manifests)),
            "--report-dir",
            str(out),
            "--no-header",
            *sorted(str(p) for p in shipped.CHECKS.glob("test_kubernetes_*.py")),
        ]
    )
    assert code in (0, 1), f"the run itself failed (exit {code})"
    outcomes = {
        c["id"].split("::")[1]: c for c in json.loads((out / "summary.json").read_text())["checks"]
    }
    expected = VERDICTS[case].get("fails", {})
    problems = []
    for cid, check in outcomes.items():
        name = cid.split("[")[0]
        if name in expected:
            if check["outcome"] != "failed" or not re.search(expected[name], check["message"]):
                problems.append(
                    f"{cid} should fail matching {expected[name]!r}: {check['outcome']}:"
                    f" {check['message']}"
                )
        elif check["outcome"] == "skipped" and not check["message"].startswith(ACCEPTED_SKIPS):
            problems.append(
                f"{cid} skipped, for a reason a healthy case should not give: {check['message']}"
            )
        elif check["outcome"] not in ("passed", "skipped"):
            problems.append(f"{cid} should pass: {check['outcome']}: {check['message']}")
    missing = set(expected) - {cid.split("[")[0] for cid in outcomes}
    assert not missing, f"checks named by the verdict did not run: {missing}"
    assert not problems, "\n".join(problems)


def test_the_corpus_is_big_and_every_case_has_a_verdict():
    files = {p.stem for p in CORPUS.glob("*.yaml")}
    assert files == set(VERDICTS), files ^ set(VERDICTS)
    assert len(files) >= 60
    healthy = [c for c, v in VERDICTS.items() if not v.get("fails")]
    assert 15 <= len(healthy) < len(files) - 30, "both healthy and faulty cases, faulty the most"

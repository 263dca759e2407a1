"""What a fault is, and the one interface through which its steps may touch the sandbox."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from nbaverify.sandbox.control import flags

if TYPE_CHECKING:
    from nbaverify.sandbox.alertmanager import Alertmanager
    from nbaverify.sandbox.kubernetes.service import Kubernetes
    from nbaverify.sandbox.layout import Layout
    from nbaverify.sandbox.postgres import Cluster
    from nbaverify.sandbox.prometheus import Prometheus
    from nbaverify.sandbox.ssh_host import SshHost


class Reach(Protocol):
    """The parts of a running sandbox a fault may act on (the Sandbox provides them)."""

    @property
    def layout(self) -> Layout: ...

    @property
    def cluster(self) -> Cluster: ...

    @property
    def prometheus(self) -> Prometheus: ...

    @property
    def alertmanager(self) -> Alertmanager: ...

    @property
    def ssh_host(self) -> SshHost: ...

    @property
    def kube(self) -> Kubernetes: ...

    @property
    def api_url(self) -> str: ...

    def restart_api(self, wait_healthy: bool = True) -> None: ...

    def restart_ingress(self, expose_internals: bool = False) -> None: ...

    def hold(self, fault: str, mode: str, *args: str, role: str = "nba_app") -> None:
        """Keep a helper process running for the fault (an idle transaction, a lock) until
        release."""

    def release(self, fault: str) -> None: ...

    def tls_context(self) -> ssl.SSLContext: ...

    def mint_token(self, ttl_s: int = 300, subject: str = "sandbox") -> str: ...


Step = Callable[[Reach], None]


def nothing(sandbox: Reach) -> None:
    """API faults live in control.json only; the sandbox writes it after every change."""


def steps(*actions: Step) -> Step:
    """One step made of several, run in order."""

    def run(sandbox: Reach) -> None:
        for action in actions:
            action(sandbox)

    return run


# the checks that talk to the API: a fault they catch is proven against both implementations
API_CHECKS = tuple(
    f"checks/test_{name}.py"
    for name in (
        "health",
        "jwt",
        "rate_limit",
        "headers_tls",
        "api_input",
        "api_performance",
        "metrics_exposure",
        "websocket",
    )
)


@dataclass(frozen=True)
class Fault:
    """One way to break the sandbox on purpose, and who must notice: an entry of the fault catalogue
    (CATALOGUE).

    It says what it breaks in one line (`breaks`), which checks must fail while it is on
    (`caught_by`), and a pattern their one-line message must match (`expect`). Its `apply` and
    `revert` steps act on the sandbox through `Reach` only; an API fault needs neither, the API
    reads its flags from control.json. `requires`, `sources` and `apis` say where it can be made.
    `missed_by` judges a run's outcomes against it, which is how the fault matrix
    (tests/sandbox/test_fault_matrix.py) proves it is caught; `proven_on` names the API
    implementations that proof runs on."""

    name: str
    area: str
    breaks: str  # one line for `nbaverify sandbox faults`
    # the checks that must fail while it is on: node ids; a parameter may be cut short
    # ("check_x[ssh://" names every case whose parameter starts so: a host's port differs from
    # sandbox to sandbox)
    caught_by: tuple[str, ...]
    # a regular expression their failure message must match: the message names the cause
    expect: str
    apply: Step = nothing
    revert: Step = nothing
    requires: str | None = None  # a sandbox component the fault needs ("prometheus"), else None
    # its checks judge the change since the previous run: the matrix runs them once first, on the
    # healthy sandbox ("healthy") or with the fault already on ("faulty", for a fault that must age)
    baseline: str | None = None
    # API behaviours it switches on besides its own name (control.json)
    api_flags: tuple[str, ...] = ()
    # Kubernetes faults: the sources that see it ("cluster", "manifests")
    sources: tuple[str, ...] = ()
    # the API implementations it can be made on, when not every one ("node")
    apis: tuple[str, ...] = ()
    # "error": its checks cannot run at all (the part they read is unreachable)
    outcome: str = "failed"
    # the fixed healthy variant it is made on, when the default sandbox cannot show it ("key-pair":
    # the platform signs with RS256, so a key-pair attack has something to confuse)
    variant: str | None = None

    def missed_by(
        self, outcomes: dict[str, dict], checks: tuple[str, ...] | list[str] | None = None
    ) -> list[str]:
        """What a run's outcomes (summary.json's checks, by id) say against this fault being caught:
        each of its checks (every parametrization) must have run, failed, and named the cause in one
        line.
        """
        problems = []
        for check_id in checks or self.caught_by:
            cut_short = "[" in check_id and not check_id.endswith("]")
            matching = {
                cid: c
                for cid, c in outcomes.items()
                if cid == check_id or cid.startswith(check_id if cut_short else check_id + "[")
            }
            if not matching:
                problems.append(f"{check_id} did not run")
            for cid, check in matching.items():
                if check["outcome"] != self.outcome:
                    problems.append(
                        f"{self.name}: {cid} should be {self.outcome}, was {check['outcome']}: "
                        f"{check['message']}"
                    )
                elif not re.search(self.expect, check["message"]) or "\n" in check["message"]:
                    problems.append(
                        f"{self.name}: {cid} message does not name the cause in one line:"
                        f" {check['message']}"
                    )
        return problems

    @property
    def selection(self) -> tuple[str, ...]:
        """Its checks as a run selects them: a parameter cut short selects every case of the
        check."""
        ids = (c if "[" not in c or c.endswith("]") else c.split("[", 1)[0] for c in self.caught_by)
        return tuple(dict.fromkeys(ids))

    def proven_on(self, implementations: tuple[str, ...] | list[str]) -> list[str]:
        """The API implementations the matrix proves it against: the ones it names, else both when
        it acts through the API, else the default (python) alone."""
        if self.apis:
            return [name for name in implementations if name in self.apis]
        return list(implementations) if self.through_api else [implementations[0]]

    @property
    def through_api(self) -> bool:
        """Does the fault act through the reference API (so it must exist in both
        implementations)?"""
        return self.area != "load" and (
            self.name in flags()["flags"]
            or bool(self.api_flags)
            or any(check.startswith(API_CHECKS) for check in self.caught_by)
        )

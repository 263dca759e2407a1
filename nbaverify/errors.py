"""The one tree of nbaverify's errors.

    NbaverifyError            anything nbaverify raises on purpose; str() is one line for a person
    ├── ConfigError           a profile, expectations or usage error: exit 2 before any check runs
    ├── TargetUnreachable     a part of the target did not answer (refused, timed out, DNS)
    ├── TargetUntrusted       it answered, but its certificate is not one the profile trusts
    ├── NotConfigured         what a check needs is not in the profile: the check is skipped with
    the reason ├── CheckError            a check could not finish (its query gave up on a lock or a
    timeout) │   └── PromQLError       Prometheus refused a query, with its own message
    ├── MissingExtra          an optional part of the install (sandbox, load) is not installed
    └── SandboxError          the sandbox could not do what was asked
        ├── MissingBinary     a program the sandbox needs is not installed
        └── PortInUse         a port the sandbox needs is taken by another process

Every message says what is wrong and, where it can, what to do next.
"""

from __future__ import annotations


class NbaverifyError(Exception):
    """Base class: the message is a single line fit for a terminal or a report."""


class ConfigError(NbaverifyError):
    """A target profile, expectations file or command line is wrong."""

    def __init__(self, source: str, key: str | None, problem: str):
        self.source, self.key, self.problem = source, key, problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


class TargetUnreachable(NbaverifyError):
    """A part of the target could not be reached; checks that need it report `unreachable`."""

    def __init__(self, component: str, where: str, reason: str):
        self.component, self.where, self.reason = component, where, reason
        super().__init__(f"{component} at {where} unreachable: {reason}")


class TargetUntrusted(NbaverifyError):
    """A part of the target answered with a certificate the profile's CA does not vouch for.

    Reported once, as what it is, by the certificate check; every other check of that client says
    it could not run, rather than calling the target unreachable or judging an answer it cannot
    trust.
    """

    def __init__(self, component: str, where: str, reason: str):
        self.component, self.where, self.reason = component, where, reason
        super().__init__(
            f"the {component} at {where} is not trusted ({reason}), so this check could not run; "
            "check_certificate_valid reports the certificate"
        )


class NotConfigured(NbaverifyError):
    """A check needs a profile key that is absent; its str() is the skip reason ("not configured:
    <key>")."""


class CheckError(NbaverifyError):
    """A check could not reach a verdict; the message says why and where."""


class PromQLError(CheckError):
    """Prometheus refused a query (parse or execution error)."""


class MissingExtra(NbaverifyError):
    """An optional part of the install (the sandbox or load extra) lacks its modules; the message
    gives the pip command."""

    def __init__(self, extra: str, modules: list[str]):
        self.extra, self.modules = extra, modules
        super().__init__(
            f"the {extra} extra is not installed (no {', '.join(modules)}); "
            f"pip install 'nbaverify[{extra}]'"
        )


class SandboxError(NbaverifyError):
    """A sandbox step failed; the message names the step and what to do."""


class MissingBinary(SandboxError):
    """A program nbaverify runs is not installed (a sandbox service, Node, Locust, promtool):
    `program` names it, the message says how to get it."""

    def __init__(self, program: str, hint: str):
        self.program = program
        super().__init__(f"{program} not found; {hint}")


class PortInUse(SandboxError):
    """A local port nbaverify must listen on (a sandbox service's, the Locust master's) is taken:
    the message names the port, its service, the holder when `ss` shows one, and what to do."""

    def __init__(
        self,
        port: int,
        service: str,
        choose: str = "other ports with NBAVERIFY_SANDBOX_PORT_BASE",
        holder: str | None = None,
    ):
        self.port, self.service, self.holder = port, service, holder
        if holder and "source port" in holder:  # an outgoing connection: it ends by itself
            super().__init__(
                f"port {port} ({service}) is taken by {holder}; wait for that connection to end, "
                f"or choose {choose}"
            )
        else:
            super().__init__(
                f"port {port} ({service}) is in use by {holder or 'another process'}; stop it, "
                f"or choose {choose}"
            )

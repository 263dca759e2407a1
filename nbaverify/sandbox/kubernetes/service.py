"""The sandbox's Kubernetes as one part of the sandbox: brought up with its objects, healed, put
down."""

from __future__ import annotations

import sys

from nbaverify import procs
from nbaverify.sandbox.kubernetes.control_plane import ControlPlane
from nbaverify.sandbox.kubernetes.platform import Platform
from nbaverify.sandbox.layout import Layout

STANDIN = "nbaverify.sandbox.kubernetes.cni_standin"


class Kubernetes:
    """The control plane (processes), what the sandbox keeps in it (objects), and the CNI
    stand-in."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.control_plane = ControlPlane(layout)
        self.platform = Platform(layout, self.control_plane)
        self.url = self.control_plane.url

    def unavailable(self) -> str | None:
        return self.control_plane.unavailable()

    def running(self) -> bool:
        return self.control_plane.running() and self._standin_pid() is not None

    def free_ports(self) -> list[tuple[int, str]]:
        return self.control_plane.free_ports()

    def sync(self, say, scale: int = 1) -> list[str]:
        """Running, with the pristine platform applied (faults off): returns the server's
        refusals."""
        self.control_plane.start(say)
        if not self._standin_pid():
            procs.spawn(
                [
                    sys.executable,
                    "-m",
                    STANDIN,
                    "--state-dir",
                    str(self.layout.root),
                    "--port-base",
                    str(self.layout.port_base),
                ],
                self.layout.log_file("cni-standin"),
                self.layout.pid_file("cni-standin"),
            )
        self.platform.clear_simulations()
        return self.platform.deploy(say, scale)

    def redeploy(self, say, scale: int = 1) -> list[str]:
        """Apply the deployed copy again, after faults edited it."""
        return self.platform.deploy(say, scale)

    def _standin_pid(self) -> int | None:
        return procs.read_pid(self.layout.pid_file("cni-standin"), STANDIN)

    def stop(self) -> None:
        pid = self._standin_pid()
        if pid:
            procs.stop_pid(pid)
        self.control_plane.stop()

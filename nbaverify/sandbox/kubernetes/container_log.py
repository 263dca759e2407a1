"""`python -m nbaverify.sandbox.kubernetes.container_log CRI_FILE -- ARGV...`: run a service as a
container runtime runs a container's process, and keep its log twice: as written (this process's own
stdout, which the sandbox sends to <state>/log/<service>.log, what a host's log file would hold) and
in the CRI log format the kubelet keeps and serves (`<RFC 3339 nano> stdout F <line>`), which KWOK's
kubelet endpoint reads when the API server asks for the pod's log. A stand-in for containerd's shim:
no container engine runs on this machine.

Each line is framed as it arrives, stamped then (as the runtime stamps it), written before the next
is read. SIGTERM and SIGINT are passed to the service; this process ends with it, with its exit
code.
"""

from __future__ import annotations

import datetime as dt
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path


def frame(stream: str, line: bytes, now: dt.datetime | None = None) -> bytes:
    """One line in the CRI log format: a full line (F), without its newline."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
    return f"{stamp} {stream} F ".encode() + line + b"\n"


def run(cri_file: Path, argv: list[str]) -> int:
    child = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda signum, _frame: child.send_signal(signum))
    assert child.stdout is not None and child.stderr is not None
    selector = selectors.DefaultSelector()
    pending: dict[int, bytes] = {}
    for pipe, stream in ((child.stdout, "stdout"), (child.stderr, "stderr")):
        os.set_blocking(pipe.fileno(), False)
        selector.register(pipe.fileno(), selectors.EVENT_READ, stream)
        pending[pipe.fileno()] = b""
    plain = sys.stdout.buffer
    with cri_file.open("ab", buffering=0) as cri:
        while selector.get_map():
            for key, _ in selector.select():
                fd = int(key.fd)
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                *lines, rest = (pending[fd] + chunk).split(b"\n") if chunk else [pending[fd], b""]
                pending[fd] = rest
                if not chunk:
                    # the service closed it: what is left is a last line without its newline
                    selector.unregister(fd)
                    lines = [line for line in lines if line]
                for line in lines:
                    plain.write(line + b"\n")
                    plain.flush()
                    cri.write(frame(key.data, line))
    return child.wait()


def main() -> None:
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--":
        sys.exit(__doc__.split("\n\n")[0])
    sys.exit(run(Path(args[0]), args[2:]))


if __name__ == "__main__":
    main()

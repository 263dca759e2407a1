"""SIGTERM (a cancelled CI job, a CronJob's deadline) stops a run the way Ctrl-C does, so one path
writes the reports of what ran."""

from __future__ import annotations

import signal


def sigterm_interrupts() -> None:
    """Turn SIGTERM into KeyboardInterrupt, unless the host program has its own handler."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")

"""nbaverify: the NBA Stat Projections maintenance guide as executable checks.

The importable surface is small on purpose; the CLI (`nbaverify`) and the pytest plugin
(`nbaverify.plugin`) are the ways in.
"""

from nbaverify.errors import (
    ConfigError,
    MissingBinary,
    NbaverifyError,
    PortInUse,
    SandboxError,
    TargetUnreachable,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "MissingBinary",
    "NbaverifyError",
    "PortInUse",
    "SandboxError",
    "TargetUnreachable",
    "__version__",
]

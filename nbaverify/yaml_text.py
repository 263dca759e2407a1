"""YAML read with libyaml's parser where PyYAML has it: the same documents as yaml.safe_load, parsed
in C (rule files, rule tests and Alertmanager configurations are read on every gate run, and the
pure-Python parser took about 0.2 s of it)."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=SafeLoader)

"""Load binder/demo.py (not a package) for the tests, and binder/start's environment."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

BINDER = Path(__file__).resolve().parents[2] / "binder"

_spec = importlib.util.spec_from_file_location("binder_demo", BINDER / "demo.py")
assert _spec is not None and _spec.loader is not None
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

DEMO_REPLY: str = demo.DEMO_REPLY


def start_env() -> dict[str, str]:
    """The environment binder/start gives Jupyter."""
    out = subprocess.run([str(BINDER / "start"), "env"], capture_output=True, text=True, check=True)
    env = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return {k: env[k] for k in ("JUPYTER_CONFIG_PATH", "JUPYTER_CODEX_DEMO_MODE")}

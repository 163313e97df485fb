"""Load binder/demo.py (not a package) for the tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "binder_demo", Path(__file__).resolve().parents[2] / "binder" / "demo.py"
)
assert _spec is not None and _spec.loader is not None
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

DEMO_REPLY: str = demo.DEMO_REPLY

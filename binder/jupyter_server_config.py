"""Jupyter config for the Binder DEMO MODE (see binder/demo.py): loaded because
binder/start puts this folder on JUPYTER_CONFIG_PATH."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo import configure

configure(get_config())  # type: ignore[name-defined]  # noqa: F821

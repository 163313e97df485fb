"""jupyter-codex: run OpenAI's Codex agent inside a Jupyter server.

The server extension (``CodexExtensionApp``) is loaded by Jupyter through
``_jupyter_server_extension_points``; nothing here imports the server eagerly,
so kernel-side code (``%load_ext jupyter_codex``) stays light.
"""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # pragma: no cover - running from a source tree without a build
    __version__ = "0.0.0.dev0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-codex"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import CodexExtensionApp

    return [{"module": "jupyter_codex", "app": CodexExtensionApp}]


__all__ = ["__version__"]

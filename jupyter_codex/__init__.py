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


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_codex``: the ``%codex`` magics (kernel-side code only)."""
    from .kernel.extension import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .kernel.extension import unload_ipython_extension as unload

    unload(ipython)


def __getattr__(name: str) -> Any:
    """``jupyter_codex.CodexClient`` / ``AsyncCodexClient`` / ``tool``, imported on first
    use so that importing the package stays light and never loads the server."""
    if name in ("CodexClient", "AsyncCodexClient", "tool"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AsyncCodexClient", "CodexClient", "__version__", "tool"]

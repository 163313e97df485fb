"""ipywidgets for Codex: a chat, approval prompts, an account switcher, a usage chart.

ipywidgets is a dependency of the package; a kernel whose environment lacks it still
runs the magics, which then leave approvals to the panel (a text says where).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "ApprovalPrompt": "approval",
    "ChatWidget": "chat",
    "AccountSwitcher": "accounts",
    "UsageChart": "usage",
}


def widgets_available() -> bool:
    """Whether ipywidgets can be imported in this kernel."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AccountSwitcher", "ApprovalPrompt", "ChatWidget", "UsageChart", "widgets_available"]

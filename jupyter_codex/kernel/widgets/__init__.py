"""ipywidgets for Codex: a chat, approval prompts, an account switcher, a usage chart.

Install with ``pip install "jupyter-codex[widgets]"``. The magics work without
ipywidgets; they then leave approvals to the session's policy and the panel.
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

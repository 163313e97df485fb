"""Extensions: entry points of ``jupyter_codex.extensions`` that react to the event
stream with declared capabilities (see docs/automation.md)."""

from .facade import CAPABILITIES, ExtensionFacade
from .host import GROUP, ExtensionHost

__all__ = ["CAPABILITIES", "GROUP", "ExtensionFacade", "ExtensionHost"]

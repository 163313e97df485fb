"""Built-in extension ``approval_rules``: declarative allow/deny before a human is asked.

Configured in ``ExtensionHost.extension_config["approval_rules"]``::

    {"rules": [
        {"action": "deny",  "command": "*rm -rf*"},
        {"action": "allow", "command": "*pytest*"},
        {"action": "allow", "path": "docs/*"},
        {"action": "deny",  "mcp_tool": "github/delete_*"}
    ]}

Each rule has an ``action`` (``allow`` or ``deny``) and one pattern (shell-style
glob, ``fnmatch``): ``command`` (matched against the whole command line), ``path``
(file changes: allow needs every changed path to match, deny any one of them;
relative to the session folder or absolute), or ``mcp_tool`` (``server/tool`` of an
MCP approval). The first matching rule decides; no match leaves the approval to a
human. Every automatic decision is in the session's log as ``approval.resolved``
with ``by: "extension:approval_rules"`` and the rule as ``reason``.
"""

from __future__ import annotations

import asyncio
import os
from fnmatch import fnmatchcase
from typing import Any

from ..errors import InvalidRequestError
from ..models import Approval
from .facade import ExtensionFacade

ACTIONS = {"allow": "accept", "deny": "decline"}
PATTERNS = ("command", "path", "mcp_tool")


def parse_rules(raw: Any) -> list[dict[str, str]]:
    """Validate the configured rules (a clear error names the bad one)."""
    if not isinstance(raw, list):
        raise InvalidRequestError("approval_rules: 'rules' must be a list.")
    rules = []
    for n, rule in enumerate(raw, 1):
        if not isinstance(rule, dict) or rule.get("action") not in ACTIONS:
            raise InvalidRequestError(f"approval_rules: rule {n} needs action 'allow' or 'deny'.")
        keys = [k for k in PATTERNS if isinstance(rule.get(k), str)]
        if len(keys) != 1:
            raise InvalidRequestError(
                f"approval_rules: rule {n} needs exactly one of {', '.join(PATTERNS)}."
            )
        rules.append({"action": rule["action"], "kind": keys[0], "pattern": rule[keys[0]]})
    return rules


def _paths(approval: Approval) -> list[str]:
    paths = []
    for change in approval.changes or []:
        path = str(change.get("path") or "")
        if approval.cwd and path.startswith(approval.cwd.rstrip("/") + "/"):
            path = os.path.relpath(path, approval.cwd)
        paths.append(path)
    return paths


def _mcp_tool(approval: Approval) -> str | None:
    """``server/tool`` of an MCP request (``mcpServer/elicitation/request`` carries
    ``serverName``; the tool, when codex names it, is in ``_meta``)."""
    params = approval.params or {}
    raw_meta = params.get("_meta")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    server = params.get("serverName") or params.get("server")
    tool = (
        params.get("toolName")
        or params.get("tool")
        or meta.get("tool_name")
        or meta.get("toolName")
        or meta.get("tool")
        or ""
    )
    return f"{server}/{tool}" if server else None


def matches(rule: dict[str, str], approval: Approval) -> bool:
    """Whether ``rule`` applies to ``approval``."""
    pattern, kind = rule["pattern"], rule["kind"]
    if kind == "command":
        return approval.kind == "command" and fnmatchcase(approval.command or "", pattern)
    if kind == "path":
        paths = _paths(approval)
        if approval.kind != "file_change" or not paths:
            return False
        hits = [fnmatchcase(p, pattern) for p in paths]
        return all(hits) if rule["action"] == "allow" else any(hits)
    tool = _mcp_tool(approval)
    return tool is not None and fnmatchcase(tool, pattern)


def decide(rules: list[dict[str, str]], approval: Approval) -> tuple[str, str] | None:
    """``(decision, reason)`` of the first matching rule, or None."""
    for n, rule in enumerate(rules, 1):
        if matches(rule, approval):
            reason = f"rule {n}: {rule['action']} {rule['kind']} {rule['pattern']!r}"
            return ACTIONS[rule["action"]], reason
    return None


class ApprovalRules:
    """Decides approvals by the configured rules; idles otherwise."""

    # answer_questions: accepting an MCP request (an elicitation) answers it.
    capabilities = ("decide_approvals", "answer_questions")

    async def run(self, ext: ExtensionFacade) -> None:
        rules = parse_rules(ext.config.get("rules", []))

        async def rule(approval: Approval) -> tuple[str, str] | None:
            return decide(rules, approval)

        ext.add_approval_rule(rule)
        ext.log.info("approval_rules: %d rule(s) active", len(rules))
        await asyncio.Event().wait()  # the rule works until the host stops us


__all__ = ["ApprovalRules", "decide", "parse_rules"]

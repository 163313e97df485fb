"""``approval_rules``' matching on its own: commands, paths, MCP tools, bad rules."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_codex.errors import InvalidRequestError
from jupyter_codex.extensions.approval_rules import decide, parse_rules
from jupyter_codex.models import Approval


def approval(kind: str, **fields: Any) -> Approval:
    return Approval(
        id="a1", session_id="s1", kind=kind, method="m", created_at=0, expires_at=1, **fields
    )


RULES = parse_rules(
    [
        {"action": "deny", "command": "*rm -rf*"},
        {"action": "allow", "command": "*pytest*"},
        {"action": "allow", "path": "docs/*"},
        {"action": "deny", "path": "*.env"},
        {"action": "deny", "mcp_tool": "github/delete_*"},
        {"action": "allow", "mcp_tool": "github/*"},
    ]
)


def test_commands_first_match_wins() -> None:
    assert decide(RULES, approval("command", command="bash -lc 'pytest -q'")) == (
        "accept",
        "rule 2: allow command '*pytest*'",
    )
    # Both rules match; the deny comes first.
    verdict = decide(RULES, approval("command", command="pytest && rm -rf /"))
    assert verdict is not None and verdict[0] == "decline" and "rule 1" in verdict[1]
    assert decide(RULES, approval("command", command="ls")) is None  # a human decides


def test_paths_allow_needs_every_path_deny_any() -> None:
    cwd = "/srv/root/proj"
    docs = [{"path": f"{cwd}/docs/a.md"}, {"path": f"{cwd}/docs/b.md"}]
    assert decide(RULES, approval("file_change", cwd=cwd, changes=docs))[0] == "accept"  # type: ignore[index]
    mixed = [{"path": f"{cwd}/docs/a.md"}, {"path": f"{cwd}/src/x.py"}]
    assert decide(RULES, approval("file_change", cwd=cwd, changes=mixed)) is None
    secret = [{"path": f"{cwd}/docs/a.md"}, {"path": f"{cwd}/prod.env"}]
    assert decide(RULES, approval("file_change", cwd=cwd, changes=secret))[0] == "decline"  # type: ignore[index]
    # Path rules never decide commands, command rules never decide file changes.
    assert decide(RULES, approval("command", command="cat docs/a.md")) is None


def test_mcp_tools() -> None:
    def mcp(tool: str) -> Approval:
        return approval(
            "elicitation", params={"serverName": "github", "_meta": {"tool_name": tool}}
        )

    assert decide(RULES, mcp("delete_repo"))[0] == "decline"  # type: ignore[index]
    assert decide(RULES, mcp("list_issues"))[0] == "accept"  # type: ignore[index]
    assert decide(RULES, approval("elicitation", params={"message": "no server"})) is None


@pytest.mark.parametrize(
    "rules",
    [
        "not a list",
        [{"action": "maybe", "command": "x"}],
        [{"action": "allow"}],
        [{"action": "allow", "command": "x", "path": "y"}],
    ],
)
def test_bad_rules_are_refused_clearly(rules: Any) -> None:
    with pytest.raises(InvalidRequestError, match="approval_rules"):
        parse_rules(rules)

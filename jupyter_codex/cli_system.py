"""``jupyter codex system health|capabilities``: is the server up, and what can its codex do."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .cli_remote import add_server_options, emit, server_command

if TYPE_CHECKING:
    from .kernel import AsyncCodexClient


async def health(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    """Liveness (anonymous), readiness and each target's app-server state."""
    live = await client.health()
    ready = await client.readiness()
    status = await client.status()
    targets = {
        name: {
            "state": t.get("state"),
            "pid": t.get("pid"),
            "idle_shutdown": t.get("idle_shutdown"),
            "active_account": (t.get("active_account") or {}).get("id"),
        }
        for name, t in status.targets.items()
    }
    data: dict[str, Any] = {
        "status": live.get("status"),
        "ready": bool(ready.get("ready")),
        "checks": ready.get("checks", {}),
        "version": status.version,
        "server": client.server.url,
        "targets": targets,
    }

    def text() -> None:
        print(f"{client.server.url}: {'ready' if data['ready'] else 'NOT READY'}")
        print(f"  jupyter-codex {status.version}")
        for name, check in data["checks"].items():
            extra = check.get("state") or check.get("error") or ""
            print(f"  {name:<16} {'ok' if check.get('ok') else 'FAIL':<5} {extra}")
        for name, t in targets.items():
            print(f"  target {name:<9} app-server {t['state']}, account {t['active_account']}")

    emit(args, data, text)
    return 0 if data["ready"] else 1


async def capabilities(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    """The app-server methods the runtime exposes, probed with low-impact calls."""
    data = await client.capabilities(args.target)

    def text() -> None:
        print(f"codex app-server ({data.get('target')}): {data.get('user_agent') or ''}")
        for method, present in sorted(data.get("methods", {}).items()):
            print(f"  {'yes' if present else 'no ':<4} {method}")
        for method in data.get("unknown", []):
            print(f"  ?    {method} (no answer)")
        advertised = data.get("advertised") or []
        if advertised:
            print(f"The runtime accepts {len(advertised)} methods in all (--json lists them).")

    emit(args, data, text)
    return 0


def register(subparsers: Any) -> None:
    """Add ``system`` with its actions to ``jupyter codex``'s sub-command parsers."""
    system = subparsers.add_parser("system", help="server health and capabilities").add_subparsers(
        dest="action", required=True
    )
    p = system.add_parser("health", help="liveness, readiness and app-server states")
    add_server_options(p)
    server_command(p, health)
    p = system.add_parser("capabilities", help="app-server methods the codex runtime exposes")
    p.add_argument("--target", choices=["cli", "api"], default="cli")
    add_server_options(p)
    server_command(p, capabilities)


__all__ = ["register"]

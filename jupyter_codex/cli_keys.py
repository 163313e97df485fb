"""``jupyter codex keys create|list|revoke``: proxy client keys, on the same store.

Hooked into ``cli.py`` by :func:`register`. The key itself is printed once, by
``create``; ``list`` shows ids, names, display prefixes and counters only.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any


def _keys(core: Any) -> Any:
    from .proxy.keys import ProxyKeys  # lazily: keeps `jupyter codex --help` fast
    from .store.proxy import ProxyKeyRepository

    existing = getattr(core, "proxy_keys", None)
    return existing or ProxyKeys(ProxyKeyRepository(core.database), core.data_dir)


def _when(value: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(value)) if value else "-"


async def keys_create(core: Any, args: argparse.Namespace) -> None:
    record, plaintext = await _keys(core).create(args.name, rate_limit_per_minute=args.rate_limit)
    print(f"Created key {record.id} ({record.name}). Copy it now; it is not shown again:")
    print(plaintext)


async def keys_list(core: Any, args: argparse.Namespace) -> None:
    keys = await _keys(core).list()
    if args.json:
        print(json.dumps([k.to_json() for k in keys], indent=2))
        return
    if not keys:
        print("No proxy keys. Create one: jupyter codex keys create --name NAME")
        return
    print(
        f"{'ID':<13} {'NAME':<20} {'PREFIX':<10} {'CREATED':<17} {'LAST USED':<17} "
        f"{'REQUESTS':>8} {'TOKENS IN/OUT':>15}  STATUS"
    )
    for k in keys:
        tokens = f"{k.input_tokens}/{k.output_tokens}"
        status = "revoked" if k.revoked else "active"
        print(
            f"{k.id:<13} {k.name[:20]:<20} {k.prefix:<10} {_when(k.created_at):<17} "
            f"{_when(k.last_used_at):<17} {k.requests:>8} {tokens:>15}  {status}"
        )


async def keys_revoke(core: Any, args: argparse.Namespace) -> None:
    record = await _keys(core).revoke(args.id)
    print(f"Revoked key {record.id} ({record.name}).")


def register(subparsers: Any) -> None:
    """Add ``keys`` with its actions to ``jupyter codex``'s sub-command parsers."""
    keys = subparsers.add_parser("keys", help="proxy client keys").add_subparsers(
        dest="action", required=True
    )
    p = keys.add_parser("create", help="create a key (printed once)")
    p.add_argument("--name", required=True)
    p.add_argument("--rate-limit", type=int, default=None, help="requests per minute")
    p.set_defaults(run=keys_create)
    p = keys.add_parser("list", help="list keys (never the keys themselves)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=keys_list)
    p = keys.add_parser("revoke", help="revoke a key")
    p.add_argument("id")
    p.set_defaults(run=keys_revoke)


__all__ = ["register"]

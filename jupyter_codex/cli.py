"""``jupyter codex …``: accounts, usage, keys, logs; sessions, chat and review on a server.

``accounts``, ``usage``, ``keys`` and ``logs`` open the same SQLite store as the
extension (WAL lets both use it at once). ``system``, ``sessions``, ``chat`` and
``review`` talk to the running server (``cli_remote.py``), each group in its own
module. Errors print one readable line and exit with status 1; nothing prints a secret.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import (
    __version__,
    cli_chat,
    cli_jobs,
    cli_keys,
    cli_remote,
    cli_review,
    cli_sessions,
    cli_system,
    config,
)
from .accounts.authjson import default_auth_json_path
from .errors import AccountError, CodexError
from .models import TARGETS, Account


def _core(args: argparse.Namespace) -> Any:
    from .core import CodexCore  # imported lazily to keep --help fast
    from .wiring import wire_core

    core = CodexCore(
        data_dir=args.data_dir or config.default_data_dir(),
        chatgpt_base_url=config.default_chatgpt_base_url(),
        auth_base_url=config.default_auth_base_url(),
        ca_certificate=config.default_ca_certificate(),
    )
    wire_core(core)
    return core


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 - value:.0f}%"


def _print_accounts(accounts: list[Account]) -> None:
    if not accounts:
        print(
            "No accounts. Add one with: jupyter codex accounts import --auth-json ~/.codex/auth.json"
        )
        return
    print(f"{'ID':<34} {'LABEL':<20} {'KIND':<8} {'STATUS':<12} {'TARGETS':<8} 5H-LEFT WEEK-LEFT")
    for a in accounts:
        usage = a.usage
        print(
            f"{a.id:<34} {a.label[:20]:<20} {a.kind:<8} {a.status:<12} "
            f"{','.join(a.active_targets) or '-':<8} "
            f"{_percent(usage.primary_used_percent if usage else None):>7} "
            f"{_percent(usage.secondary_used_percent if usage else None):>9}"
        )
        if a.status_reason:
            print(f"    {a.status_reason}")


def _account_json(accounts: list[Account]) -> list[dict[str, Any]]:
    out = []
    for a in accounts:
        data = a.model_dump()
        u = a.usage
        data["usage"] = (
            {
                **u.model_dump(),
                "primary_used_percent": u.primary_used_percent,
                "secondary_used_percent": u.secondary_used_percent,
                "fetched_at": u.fetched_at,
            }
            if u
            else None
        )
        out.append(data)
    return out


# -- commands -------------------------------------------------------------------


async def accounts_list(core: Any, args: argparse.Namespace) -> None:
    accounts = await core.list_accounts()
    if args.json:
        print(json.dumps(_account_json(accounts), indent=2))
    else:
        _print_accounts(accounts)


async def accounts_import(core: Any, args: argparse.Namespace) -> None:
    path = args.auth_json or str(default_auth_json_path())
    account = await core.accounts.import_auth_json(path, args.label)
    print(
        f"Imported {account.label} ({account.email or account.kind}) as {account.id} from {path}."
    )


async def accounts_add_key(core: Any, args: argparse.Namespace) -> None:
    account = await core.accounts.add_api_key(args.api_key, args.label)
    print(f"Added API key {account.label} as {account.id}.")


async def accounts_login(core: Any, args: argparse.Namespace) -> None:
    if args.device_code:
        login = core.accounts.device_login()
        prompt = await login.start()
        print(f"Open {prompt['verification_url']} and enter the code {prompt['user_code']}")
        print("Waiting for you to approve (Ctrl-C to cancel)…", flush=True)
        tokens = await login.wait()
        account = await core.accounts.add_chatgpt_tokens(tokens, args.label)
    else:
        from .accounts.signin import SignInFlows

        flows = SignInFlows(core.accounts)
        view = await flows.start_browser(args.label, args.port)
        print(f"Sign in in your browser: {view['auth_url']}", flush=True)
        if not args.no_browser:
            import webbrowser

            webbrowser.open(view["auth_url"])
        try:
            view = await flows.wait(view["id"])
        finally:
            await flows.aclose()
        if view["status"] != "completed":
            raise AccountError(view["error"] or "The sign-in did not complete.")
        account = Account.model_validate(view["account"])
    print(f"Signed in as {account.email or account.label} ({account.id}).")


async def accounts_use(core: Any, args: argparse.Namespace) -> None:
    await core.router.set_active(args.target, args.id, reason="manual (cli)", actor="cli")
    account = await core.accounts.get(args.id)
    print(f"The {args.target} target now uses {account.label} ({account.id}).")


async def accounts_logout(core: Any, args: argparse.Namespace) -> None:
    """Stop using an account for a target, keeping it stored (``use`` brings it back)."""
    account = await core.accounts.get(args.id)
    was_active = await core.router.sign_out(args.target, account.id, "logout (cli)", actor="cli")
    if args.json:
        data = {"account_id": account.id, "target": args.target, "logged_out": was_active}
        print(json.dumps(data, indent=2))
    elif was_active:
        print(f"The {args.target} target no longer uses {account.label} ({account.id}); kept.")
    else:
        print(f"{account.label} ({account.id}) is not the {args.target} target's account.")


async def accounts_remove(core: Any, args: argparse.Namespace) -> None:
    await core.accounts.remove(args.id)
    print(f"Removed account {args.id}.")


async def usage(core: Any, args: argparse.Namespace) -> None:
    if args.refresh:
        await core.scheduler.poll_all()  # also re-evaluates both targets
    accounts = await core.list_accounts()
    if args.json:
        print(
            json.dumps(
                [{"id": a.id, "label": a.label, **(_account_json([a])[0])} for a in accounts],
                indent=2,
            )
        )
    else:
        _print_accounts(accounts)


async def logs(core: Any, args: argparse.Namespace) -> None:
    entries = await core.system_log.list(args.limit)
    for e in reversed(entries):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.time))
        print(f"{when} {e.level.upper():<7} {e.kind:<10} {e.message}")


# -- parser ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jupyter codex", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--data-dir", help="data dir (default: $JUPYTER_CODEX_DATA_DIR or <jupyter data dir>/codex)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    acc = sub.add_parser("accounts", help="ChatGPT accounts and API keys").add_subparsers(
        dest="action", required=True
    )
    p = acc.add_parser("list", help="list accounts with usage")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=accounts_list)
    p = acc.add_parser("import", help="import a Codex auth.json")
    p.add_argument(
        "--auth-json",
        default=None,
        help="path (default: your own codex login, $CODEX_HOME/auth.json or ~/.codex/auth.json "
        "as they were before the Jupyter server started)",
    )
    p.add_argument("--label")
    p.set_defaults(run=accounts_import)
    p = acc.add_parser("add-key", help="add an OpenAI API key")
    p.add_argument("--api-key", required=True)
    p.add_argument("--label")
    p.set_defaults(run=accounts_add_key)
    p = acc.add_parser("login", help="sign in to ChatGPT (browser, or --device-code)")
    p.add_argument(
        "--device-code",
        action="store_true",
        help="sign in with a code on any device (for remote machines and JupyterHub)",
    )
    p.add_argument("--port", type=int, default=1455, help="local callback port (browser flow)")
    p.add_argument("--no-browser", action="store_true", help="print the URL, do not open it")
    p.add_argument("--label")
    p.set_defaults(run=accounts_login)
    p = acc.add_parser("use", help="make an account active for a target")
    p.add_argument("id")
    p.add_argument("--target", choices=list(TARGETS), required=True)
    p.set_defaults(run=accounts_use)
    p = acc.add_parser("logout", help="stop using an account for a target (keeps it)")
    p.add_argument("id")
    p.add_argument("--target", choices=["api", "cli"], required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=accounts_logout)
    p = acc.add_parser("cancel-login", help="cancel a sign-in running on the server")
    p.add_argument("flow_id", help="the sign-in's id (from the panel or the REST API)")
    cli_remote.add_server_options(p)
    cli_remote.server_command(p, cli_remote.cancel_login)
    p = acc.add_parser("remove", help="remove an account")
    p.add_argument("id")
    p.set_defaults(run=accounts_remove)

    p = sub.add_parser("usage", help="usage of every account")
    p.add_argument("--refresh", action="store_true", help="poll every account now")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=usage)

    cli_keys.register(sub)
    cli_system.register(sub)
    cli_sessions.register(sub)
    cli_chat.register(sub)
    cli_review.register(sub)
    cli_jobs.register(sub)

    p = sub.add_parser("logs", help="the system log (switches, alerts, errors)")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(run=logs)
    return parser


async def _run(
    args: argparse.Namespace, command: Callable[[Any, argparse.Namespace], Awaitable[None]]
) -> None:
    core = _core(args)
    await core.open()
    try:
        await command(core, args)
    finally:
        await core.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jupyter-codex`` (run as ``jupyter codex``)."""
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "remote", False):  # talks to the running server
            return asyncio.run(cli_remote.run(args))
        asyncio.run(_run(args, args.run))
    except CodexError as e:
        print(cli_remote.error_line(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Run a user-chosen command on account switches and alerts (mail, chat, pager...).

The command gets the event in environment variables, never on a shell command
line, so nothing is interpolated. It runs in the background with a timeout:
a slow or failing hook is logged and never delays routing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Callable
from typing import Any

from traitlets import Float, List, Unicode
from traitlets.config import LoggingConfigurable

from ..tasks import TaskOwner, within

EmailLookup = Callable[[str], "str | None"]


class AlertNotifier(LoggingConfigurable):
    """Runs ``notify_command`` for every switch and alert (listeners of the router)."""

    notify_command = List(
        Unicode(),
        default_value=[],
        config=True,
        help="""Command (argv list) run on every account switch or alert, e.g.
        ["/usr/local/bin/notify-codex"]. It receives JUPYTER_CODEX_EVENT (switch|alert),
        JUPYTER_CODEX_TARGET, JUPYTER_CODEX_FROM, JUPYTER_CODEX_TO, JUPYTER_CODEX_REASON
        and JUPYTER_CODEX_EMAIL in its environment. Empty (default): nothing runs.""",
    )
    notify_timeout = Float(
        10.0, config=True, help="Seconds before a notify command is killed (default 10)."
    )

    def __init__(self, *, email_of: EmailLookup | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._email_of = email_of
        self._tasks = TaskOwner("codex-notify-command", self.log)

    # -- router listeners ----------------------------------------------------------------

    def on_switch(self, target: str, from_id: str | None, to_id: str | None, reason: str) -> None:
        """Switch listener: notify in the background."""
        self._spawn("switch", target, from_id, to_id, reason, self._email(to_id))

    def on_alert(self, target: str, account_id: str | None, kind: str, message: str) -> None:
        """Alert listener: notify in the background (the account is in FROM)."""
        self._spawn("alert", target, account_id, None, kind, self._email(account_id))

    # -- running ------------------------------------------------------------------------

    async def notify(
        self,
        event: str,
        *,
        target: str,
        from_id: str | None = None,
        to_id: str | None = None,
        reason: str = "",
        email: str | None = None,
    ) -> int | None:
        """Run the command once and return its exit code (None: not run, failed, timed out)."""
        if not self.notify_command:
            return None
        env = dict(os.environ)
        env.update(
            JUPYTER_CODEX_EVENT=event,
            JUPYTER_CODEX_TARGET=target,
            JUPYTER_CODEX_FROM=from_id or "",
            JUPYTER_CODEX_TO=to_id or "",
            JUPYTER_CODEX_REASON=reason,
            JUPYTER_CODEX_EMAIL=email or "",
        )
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.notify_command,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as e:
            self.log.warning("Cannot run the notify command %s: %s", self.notify_command[0], e)
            return None
        try:
            _, stderr = await within(proc.communicate(), timeout=self.notify_timeout)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            self.log.warning("The notify command timed out after %.0f s", self.notify_timeout)
            return None
        if proc.returncode:
            tail = stderr.decode(errors="replace").strip()[-300:]
            self.log.warning("The notify command exited with %s: %s", proc.returncode, tail)
        return proc.returncode

    async def drain(self) -> None:
        """Wait for notifications in flight (tests, shutdown)."""
        await self._tasks.drain()

    async def close(self) -> None:
        """Give running commands their timeout, then stop."""
        await self.drain()

    def _spawn(
        self,
        event: str,
        target: str,
        from_id: str | None,
        to_id: str | None,
        reason: str,
        email: str | None,
    ) -> None:
        if not self.notify_command:
            return
        self._tasks.start_soon(
            functools.partial(
                self.notify,
                event,
                target=target,
                from_id=from_id,
                to_id=to_id,
                reason=reason,
                email=email,
            ),
            name="notify-command",
        )

    def _email(self, account_id: str | None) -> str | None:
        if account_id is None or self._email_of is None:
            return None
        return self._email_of(account_id)

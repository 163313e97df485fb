"""Keep a working server "active" so an idle culler does not stop it mid-turn.

JupyterHub's idle culler (and Jupyter's own ``shutdown_no_activity_timeout``) look at
the server's last activity: API requests, kernels, terminals, and every
``web_app.settings`` entry whose key ends in ``_last_activity``. A Codex turn can run
for many minutes with no request at all (the user watches the WebSocket, or walked
away), so while any turn runs this reporter stamps ``codex_last_activity`` every
``interval`` seconds. Idle sessions report nothing: a truly idle server still gets culled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, MutableMapping
from typing import Any

#: The settings key Jupyter's ``last_activity()`` picks up (any key ending in ``_last_activity``).
SETTINGS_KEY = "codex_last_activity"


class ActivityReporter:
    """Stamps ``settings[SETTINGS_KEY]`` while ``busy()`` says work is running.

    Parameters
    ----------
    settings:
        Returns the Tornado application's settings (``web_app.settings``; an extension's
        own ``settings`` dict is only a copy merged into it at load time).
    busy:
        Returns how many turns run now (0: nothing to report).
    interval:
        Seconds between two stamps while busy; well below any culler's timeout.
    """

    def __init__(
        self,
        settings: Callable[[], MutableMapping[str, Any]],
        busy: Callable[[], int],
        interval: float,
        log: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self._settings = settings
        self._busy = busy
        self.interval = interval
        self._log = log

    def touch(self) -> None:
        """Record activity now (UTC-aware, as Jupyter's own stamps)."""
        self._settings()[SETTINGS_KEY] = dt.datetime.now(dt.timezone.utc)

    async def run(self) -> None:
        """Report until cancelled: the caller's task owner runs it (and stops it at shutdown).

        Returns at once when ``interval`` is 0 or less (reporting is off).
        """
        while self.interval > 0:
            await asyncio.sleep(self.interval)
            try:
                running = self._busy()
            except Exception:  # noqa: BLE001 - a broken probe must not end the reporter
                self._log.exception("Could not count running Codex turns")
                continue
            if running:
                self.touch()
                self._log.debug("Codex activity: %d turn(s) running", running)

"""Request lines in our error logs, without what a client put in the query string.

Jupyter's access log already hides query parameters whose name contains ``token``,
``key``, ``auth``, ``code``, ``state`` or ``xsrf``. Tornado's own error lines
(``404 GET /codex/api/…?token=… (ip): …`` for an ``HTTPError``, and the request
printed with an uncaught exception) print the raw URI: a proxy key sent as
``?token=`` landed there. Our handlers log the path and the parameter *names*
only, whatever the names are.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tornado import web
from tornado.log import app_log


def redacted_uri(uri: str) -> str:
    """``uri`` with every query value replaced by ``[redacted]``."""
    parts = urlsplit(uri)
    if not parts.query:
        return parts.path
    names = [p.partition("=")[0] for p in parts.query.split("&") if p]
    return parts.path + "?" + "&".join(f"{name}=[redacted]" for name in names)


class RedactedLogMixin(web.RequestHandler):
    """Tornado's error log lines, with :func:`redacted_uri` instead of the raw URI."""

    def _request_summary(self) -> str:
        request = self.request
        return f"{request.method} {redacted_uri(request.uri or '')} ({request.remote_ip})"

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, web.HTTPError):
            super().log_exception(typ, value, tb)  # formats with _request_summary()
            return
        app_log.error("Uncaught exception %s", self._request_summary(), exc_info=(typ, value, tb))


__all__ = ["RedactedLogMixin", "redacted_uri"]

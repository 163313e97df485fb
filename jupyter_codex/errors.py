"""The one error tree of jupyter-codex.

Managers and services raise only these; handlers map them to HTTP in exactly one
place (``handlers/base.py``), the CLI and the magics turn them into readable
messages. Every message is written for the person who reads it: it says what
went wrong and what to do, and never contains a secret.

::

    CodexError
    ├── InvalidRequestError          400  bad body, bad field, bad value
    │   ├── PayloadTooLargeError     413  body over the configured limit
    │   ├── NotebookToolError             a notebook tool's bad argument; text for the model
    │   │                                 (workspace/notebook_cells.py)
    │   └── PathOutsideRootError     403  a client path escapes root_dir
    ├── NotFoundError                404  unknown session, approval, account …
    ├── CapabilityError              403  an extension used an undeclared capability
    ├── ConflictError                409  e.g. a turn is already running
    ├── ApprovalExpiredError         410  the approval's turn ended with a server restart
    ├── TooManyTurnsError            429  more concurrent turns than allowed
    ├── KernelRunError               503  a notebook's kernel cannot run code; text for the
    │                                     model (workspace/notebook_kernel.py)
    ├── AccountError                 400  account problems
    │   ├── AuthFileError            400  a Codex auth.json we cannot use
    │   │   └── JwtError             400  a token is not a JWT (accounts/authjson.py)
    │   ├── AccountQuarantinedError  409  refresh token reused/expired/invalidated
    │   ├── NoAccountAvailableError  503  no account passes the target's rules
    │   │   └── UsageLimitReachedError 429  every candidate is at its usage limit
    │   └── UpstreamAuthError        502  the OAuth/usage endpoint failed
    ├── UpstreamError                502  the model upstream failed a proxied request
    │   ├── UpstreamHTTPError             a non-200 answer (proxy/upstream.py)
    │   └── TransportError                no HTTP answer (proxy/transport.py)
    ├── ProxyRequestError            4xx/5xx  ProxyError: a proxied request fails before
    │                                     its first byte (status per instance, per dialect)
    ├── StoreError                   500  SQLite failed (corrupt db, a bug)
    │   └── StoreUnavailableError    503  the data dir is full or read-only (for now)
    └── AppServerError               502  the codex app-server misbehaved
        ├── AppServerStartError      503  could not launch or handshake
        ├── AppServerDiedError       503  the process exited under a request
        ├── RpcError                 502  app-server answered a JSON-RPC error
        ├── RpcTimeoutError          504  no answer in time
        └── IllegalTransitionError   502  a supervisor bug (supervisor/state.py)

The Python client (``jupyter_codex.client``) raises the same classes for the
server's error answers, plus its own, which the server never raises::

    CodexError
    └── ClientError                       the client could not do its part
        ├── ServerNotFoundError           no server URL given or found in the environment
        ├── ServerUnreachableError        the server did not answer (refused, timeout)
        ├── NotAuthorizedError       403  the server refused the client's token
        ├── TurnTimeoutError              send_and_wait() gave up waiting for the turn
        ├── OptionError                   a bad %codex option (kernel/options.py)
        ├── ImageSpecError                a --image value that names no picture (kernel/images.py)
        ├── CodexMagicError               what %codex shows as one line (kernel/magics.py)
        └── ToolConflictError             two notebook tools share a name (kernel/notebook_tools.py)

Besides the errors, one root for *signals*: exceptions that steer control flow
inside the server and are not errors. :class:`Signal` is not a ``CodexError``
on purpose: a signal reports nothing wrong, reaches no person and is never
mapped to HTTP (there is nobody left to answer, or the caller handles it at
once). ``tests/test_architecture.py`` checks that every exception class
descends from either ``CodexError`` or ``Signal``, and that no handler maps a
signal to a response::

    Signal
    └── ClientGone                        the proxy's client closed the connection while
                                          an answer was being written (proxy/sse_writer.py);
                                          the handler stops writing and ends quietly
"""

from __future__ import annotations

from typing import Any


class CodexError(Exception):
    """Base class of every error jupyter-codex raises on purpose."""

    #: HTTP status the REST API answers with.
    status_code: int = 500
    #: Stable machine-readable code, part of the REST contract.
    code: str = "codex_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, Any]:
        """Return the ``{"error": {...}}`` body for the REST API."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidRequestError(CodexError):
    """The client sent something we cannot act on."""

    status_code = 400
    code = "invalid_request"


class PayloadTooLargeError(InvalidRequestError):
    """A request body exceeds the configured maximum size."""

    status_code = 413
    code = "payload_too_large"


class PathOutsideRootError(InvalidRequestError):
    """A path from a client resolves outside the server's root directory."""

    status_code = 403
    code = "path_outside_root"


class NotFoundError(CodexError):
    """The named resource does not exist."""

    status_code = 404
    code = "not_found"


class CapabilityError(CodexError):
    """An extension used a capability it did not declare."""

    status_code = 403
    code = "capability_denied"


class ConflictError(CodexError):
    """The request conflicts with the current state (e.g. a running turn)."""

    status_code = 409
    code = "conflict"


class ApprovalExpiredError(CodexError):
    """The approval can no longer be decided: the server or the app-server that asked
    stopped before anyone answered (the message says which, and what to do)."""

    status_code = 410
    code = "approval_expired"


class TooManyTurnsError(CodexError):
    """Starting a turn would exceed ``WorkspaceManager.max_concurrent_turns``."""

    status_code = 429
    code = "too_many_turns"


class AccountError(CodexError):
    """An account cannot be added, used or refreshed."""

    status_code = 400
    code = "account_error"


class AuthFileError(AccountError):
    """A Codex ``auth.json`` is missing, unreadable or not a usable login."""

    code = "bad_auth_file"


class AccountQuarantinedError(AccountError):
    """The account's refresh token is dead; it must be signed in again."""

    status_code = 409
    code = "account_quarantined"


class NoAccountAvailableError(AccountError):
    """No account passes the target's rules (all exhausted, disabled or quarantined)."""

    status_code = 503
    code = "no_account_available"


class UsageLimitReachedError(NoAccountAvailableError):
    """Every candidate account is at its usage limit (or cooling down for one).

    ``details``: ``resets_at`` (unix seconds of the earliest reset, or None) and
    ``plan_type``; the proxy renders it as the backend's own 429
    ``usage_limit_reached`` (OpenAI routes) or ``rate_limit_error`` (Anthropic).
    """

    status_code = 429
    code = "usage_limit_reached"


class UpstreamAuthError(AccountError):
    """The OAuth or usage endpoint failed (network, 5xx, unexpected answer)."""

    status_code = 502
    code = "upstream_auth_error"


class UpstreamError(CodexError):
    """The model upstream (ChatGPT backend or OpenAI API) failed a proxied request.

    Subclasses: ``proxy.upstream.UpstreamHTTPError`` (an HTTP answer other than 200, or a
    failure reported before the first event) and ``proxy.transport.TransportError`` (no
    HTTP answer at all). The proxy fails over on them; the client never sees them as such.
    """

    status_code = 502
    code = "upstream_error"


class ProxyRequestError(CodexError):
    """A proxied request fails before anything was streamed (``proxy.errors.ProxyError``):
    rendered by the proxy handler in the route's dialect (OpenAI or Anthropic error JSON),
    with ``Retry-After`` and ``x-should-retry`` where they apply."""

    status_code = 502
    code = "proxy_error"


class KernelRunError(CodexError, RuntimeError):
    """A notebook's kernel could not start or went away while Codex ran a cell.

    Raised inside notebook tools (``workspace/notebook_kernel.py``); its text is the
    tool's answer to the model."""

    status_code = 503
    code = "kernel_unavailable"


class StoreError(CodexError):
    """The SQLite store failed."""

    status_code = 500
    code = "store_error"


class StoreUnavailableError(StoreError):
    """The database cannot be written now: the disk is full or the data dir read-only.
    Reads keep working; writes work again once space (or write access) is back."""

    status_code = 503
    code = "store_unavailable"


class AppServerError(CodexError):
    """The supervised ``codex app-server`` failed."""

    status_code = 502
    code = "app_server_error"


class AppServerStartError(AppServerError):
    """The app-server could not be launched or did not complete its handshake."""

    status_code = 503
    code = "app_server_unavailable"


class AppServerDiedError(AppServerError):
    """The app-server process exited while a request was outstanding."""

    status_code = 503
    code = "app_server_died"


class RpcError(AppServerError):
    """The app-server answered a request with a JSON-RPC error object."""

    code = "app_server_rpc_error"

    def __init__(self, message: str, *, rpc_code: int | None = None, **details: Any) -> None:
        super().__init__(message, rpc_code=rpc_code, **details)
        self.rpc_code = rpc_code


class RpcTimeoutError(AppServerError):
    """The app-server did not answer a request in time."""

    status_code = 504
    code = "app_server_timeout"


class ClientError(CodexError):
    """The Python client could not reach or use a server (raised client-side only)."""

    code = "client_error"


class ServerNotFoundError(ClientError):
    """No server URL was given and none was found in the environment."""

    code = "server_not_found"


class ServerUnreachableError(ClientError):
    """The server did not answer: connection refused, reset or timed out."""

    status_code = 503
    code = "server_unreachable"


class NotAuthorizedError(ClientError):
    """The Jupyter server refused the client's credentials."""

    status_code = 403
    code = "not_authorized"


class TurnTimeoutError(ClientError, TimeoutError):
    """``send_and_wait`` gave up waiting; the turn itself keeps running."""

    status_code = 504
    code = "turn_timeout"


class Signal(Exception):
    """Base of the exceptions that steer control flow and report nothing wrong.

    Never a ``CodexError``: it is not mapped to HTTP and its text reaches no person.
    """


__all__ = [
    "AccountError",
    "AccountQuarantinedError",
    "AppServerDiedError",
    "AppServerError",
    "AppServerStartError",
    "ApprovalExpiredError",
    "AuthFileError",
    "ClientError",
    "CodexError",
    "ConflictError",
    "InvalidRequestError",
    "KernelRunError",
    "NoAccountAvailableError",
    "NotAuthorizedError",
    "NotFoundError",
    "PathOutsideRootError",
    "PayloadTooLargeError",
    "ProxyRequestError",
    "RpcError",
    "RpcTimeoutError",
    "ServerNotFoundError",
    "ServerUnreachableError",
    "Signal",
    "StoreError",
    "StoreUnavailableError",
    "TooManyTurnsError",
    "TurnTimeoutError",
    "UpstreamAuthError",
    "UpstreamError",
    "UsageLimitReachedError",
]

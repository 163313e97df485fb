"""Normalize ``codex app-server`` notifications into the client event stream.

Clients (the JupyterLab panel, widgets, magics) must not track the app-server
protocol, which changes with every codex release: this module is the one place
that reads it. It is pure (no I/O, no clock, no state), so the workspace can
call it under its lock and tests can feed it recorded notifications.

The workspace wraps each :class:`NormalizedEvent` into the stored envelope
(:class:`jupyter_codex.models.Event`), adding ``seq``, ``session_id`` and
``time``. Event types and their ``data`` are documented in ``docs/websocket.md``;
data keys and the enum values we define are snake_case, error codes keep
codex's spelling, and ``codex.<method>`` / ``item.*`` events carry raw
app-server objects unchanged so nothing is lost.

Why this module is long: one function per notification family; splitting them would
scatter the one place that reads the app-server protocol.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._items import (
    DIFF_CAP,
    OUTPUT_CAP,
    Payload,
    as_dict,
    as_enum,
    as_int,
    as_list,
    as_str,
    cap,
    file_changes,
    item_payloads,
)

__all__ = [
    "DIFF_CAP",
    "EVENT_TYPES",
    "NOISE",
    "OUTPUT_CAP",
    "NormalizedEvent",
    "normalize",
    "thread_id_of",
]


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    """One client event before the workspace gives it a ``seq`` and a ``time``."""

    type: str
    turn_id: str | None
    item_id: str | None
    data: dict[str, Any]


#: Notifications that produce no event, and why:
#:
#: * ``item/reasoning/summaryPartAdded``: a section boundary; every
#:   ``reasoning.delta`` already carries its ``summary_index``.
#: * ``item/fileChange/outputDelta``: deprecated, no longer emitted; the
#:   ``file_change.*`` events and ``diff.updated`` carry the same content.
#: * ``thread/compacted``: deprecated twin of the ``contextCompaction`` item.
#: * ``serverRequest/resolved``: the workspace, which owns approvals, turns it
#:   into ``approval.resolved``.
#: * ``rawResponseItem/completed``: raw Responses items, only sent on request
#:   (``experimentalRawEvents``); the ``item/*`` notifications cover them.
NOISE = frozenset(
    {
        "item/reasoning/summaryPartAdded",
        "item/fileChange/outputDelta",
        "thread/compacted",
        "serverRequest/resolved",
        "rawResponseItem/completed",
    }
)

#: Every documented event type. ``codex.<method>`` (unknown notifications) is
#: the only other family; the last group is emitted by the workspace itself.
EVENT_TYPES = frozenset(
    {
        "turn.started",
        "turn.completed",
        "user.message",
        "assistant.started",
        "assistant.delta",
        "assistant.message",
        "reasoning.started",
        "reasoning.delta",
        "reasoning.summary",
        "plan.delta",
        "plan.proposed",
        "plan.updated",
        "command.started",
        "command.output",
        "command.completed",
        "file_change.started",
        "file_change.updated",
        "file_change.completed",
        "tool_call.started",
        "tool_call.progress",
        "tool_call.completed",
        "item.started",
        "item.completed",
        "diff.updated",
        "token_usage",
        "rate_limits",
        "error",
        "warning",
        "thread.started",
        "thread.status",
        "model.rerouted",
        # produced by the workspace, not by normalize()
        "session.created",
        "session.updated",
        "approval.requested",
        "approval.resolved",
        "session.forked",
        "session.compacting",
        "turn.undone",
        "subagent.started",
        "subagent.completed",
        "turn.force_stopped",
        "status",
    }
)


def thread_id_of(method: str, params: dict[str, Any]) -> str | None:
    """Which thread a notification belongs to, or ``None`` for process-wide ones.

    Most notifications carry ``threadId``; ``thread/started`` (and other
    notifications that ship a whole Thread) carry ``thread.id``; legacy v1
    ones say ``conversationId``. ``account/*``, ``mcpServer/*`` and the like
    have none: the workspace routes those to every session or to no one.
    """
    params = as_dict(params)
    for key in ("threadId", "conversationId"):
        found = as_str(params.get(key))
        if found:
            return found
    return as_str(as_dict(params.get("thread")).get("id")) or None


def normalize(method: str, params: dict[str, Any]) -> list[NormalizedEvent]:
    """Map one app-server notification to zero or more client events.

    Known methods get a typed event; methods in :data:`NOISE` give none; any
    other method becomes ``codex.<method>`` with the raw ``params`` so that a
    newer codex never loses information. Never raises on odd params.
    """
    params = as_dict(params)
    if method in NOISE:
        return []
    handler = _HANDLERS.get(method)
    payloads = handler(params) if handler else [(f"codex.{method}", {"params": params})]
    turn_id = _turn_id(params)
    item_id = _item_id(params)
    return [NormalizedEvent(kind, turn_id, item_id, data) for kind, data in payloads]


def _turn_id(params: dict[str, Any]) -> str | None:
    return as_str(params.get("turnId")) or as_str(as_dict(params.get("turn")).get("id"))


def _item_id(params: dict[str, Any]) -> str | None:
    return as_str(params.get("itemId")) or as_str(as_dict(params.get("item")).get("id"))


def error_info(error: Any) -> dict[str, Any] | None:
    """A ``TurnError`` as ``{message, code, http_status, details}``.

    ``codexErrorInfo`` is either a string (``"usageLimitExceeded"``) or a
    one-key object (``{"httpConnectionFailed": {"httpStatusCode": 502}}``);
    both become ``code``, which keeps codex's spelling so it can be looked up.
    """
    if isinstance(error, str):
        return {"message": error, "code": None, "http_status": None, "details": None}
    error = as_dict(error)
    if not error:
        return None
    info = error.get("codexErrorInfo")
    code: str | None = as_str(info)
    http_status = None
    if isinstance(info, dict) and info:
        code = str(next(iter(info)))
        http_status = as_int(as_dict(info[code]).get("httpStatusCode"))
    return {
        "message": as_str(error.get("message")) or "",
        "code": code,
        "http_status": http_status,
        "details": as_str(error.get("additionalDetails")),
    }


def _turn_started(params: dict[str, Any]) -> list[Payload]:
    turn = as_dict(params.get("turn"))
    return [("turn.started", {"started_at": as_int(turn.get("startedAt"))})]


def _turn_completed(params: dict[str, Any]) -> list[Payload]:
    turn = as_dict(params.get("turn"))
    started, completed = as_int(turn.get("startedAt")), as_int(turn.get("completedAt"))
    duration = as_int(turn.get("durationMs"))
    if duration is None and started is not None and completed is not None:
        duration = (completed - started) * 1000  # the timestamps are Unix seconds
    data = {
        "status": as_enum(turn.get("status")) or "completed",
        "error": error_info(turn.get("error")),
        "duration_ms": duration,
        "completed_at": completed,
    }
    return [("turn.completed", data)]


def _item(completed: bool) -> Callable[[dict[str, Any]], list[Payload]]:
    def handle(params: dict[str, Any]) -> list[Payload]:
        return item_payloads(as_dict(params.get("item")), completed)

    return handle


def _delta(kind: str) -> Callable[[dict[str, Any]], list[Payload]]:
    def handle(params: dict[str, Any]) -> list[Payload]:
        return [(kind, {"delta": as_str(params.get("delta")) or ""})]

    return handle


def _reasoning_delta(raw: bool) -> Callable[[dict[str, Any]], list[Payload]]:
    index_key = "contentIndex" if raw else "summaryIndex"

    def handle(params: dict[str, Any]) -> list[Payload]:
        data = {
            "delta": as_str(params.get("delta")) or "",
            "raw": raw,
            "index": as_int(params.get(index_key)),
        }
        return [("reasoning.delta", data)]

    return handle


def _command_output(params: dict[str, Any]) -> list[Payload]:
    delta, truncated = cap(as_str(params.get("delta")) or "", OUTPUT_CAP)
    return [("command.output", {"delta": delta, "truncated": truncated})]


def _patch_updated(params: dict[str, Any]) -> list[Payload]:
    return [("file_change.updated", {"changes": file_changes(params.get("changes"))})]


def _tool_progress(params: dict[str, Any]) -> list[Payload]:
    return [("tool_call.progress", {"message": as_str(params.get("message")) or ""})]


def _plan_updated(params: dict[str, Any]) -> list[Payload]:
    steps = [
        {"step": as_str(step.get("step")) or "", "status": as_enum(step.get("status"))}
        for step in map(as_dict, as_list(params.get("plan")))
    ]
    return [("plan.updated", {"explanation": as_str(params.get("explanation")), "steps": steps})]


def _diff_updated(params: dict[str, Any]) -> list[Payload]:
    diff, truncated = cap(as_str(params.get("diff")) or "", DIFF_CAP)
    return [("diff.updated", {"diff": diff, "truncated": truncated})]


def _token_breakdown(value: Any) -> dict[str, int | None]:
    usage = as_dict(value)
    return {
        "input": as_int(usage.get("inputTokens")),
        "cached_input": as_int(usage.get("cachedInputTokens")),
        "cache_write_input": as_int(usage.get("cacheWriteInputTokens")),
        "output": as_int(usage.get("outputTokens")),
        "reasoning_output": as_int(usage.get("reasoningOutputTokens")),
        "total": as_int(usage.get("totalTokens")),
    }


def _token_usage(params: dict[str, Any]) -> list[Payload]:
    usage = as_dict(params.get("tokenUsage"))
    data = {
        "last": _token_breakdown(usage.get("last")),
        "total": _token_breakdown(usage.get("total")),
        "context_window": as_int(usage.get("modelContextWindow")),
    }
    return [("token_usage", data)]


def _window(value: Any) -> dict[str, Any] | None:
    window = as_dict(value)
    if not window:
        return None
    used = window.get("usedPercent")
    return {
        "used_percent": None
        if isinstance(used, bool) or not isinstance(used, (int, float))
        else used,
        "window_minutes": as_int(window.get("windowDurationMins")),
        "resets_at": as_int(window.get("resetsAt")),
    }


def _rate_limits(params: dict[str, Any]) -> list[Payload]:
    """The snapshot is sparse (merge, don't replace): absent keys stay absent."""
    snapshot = as_dict(params.get("rateLimits"))
    data: dict[str, Any] = {}
    readers: dict[str, tuple[str, Callable[[Any], Any]]] = {
        "limitId": ("limit_id", as_str),
        "limitName": ("limit_name", as_str),
        "primary": ("primary", _window),
        "secondary": ("secondary", _window),
        "credits": ("credits", _credits),
        "planType": ("plan_type", as_str),
        "rateLimitReachedType": ("reached_type", as_str),
    }
    for key, (name, read) in readers.items():
        if key in snapshot:
            data[name] = read(snapshot[key])
    return [("rate_limits", data)]


def _credits(value: Any) -> dict[str, Any] | None:
    credits = as_dict(value)
    if not credits:
        return None
    return {
        "has_credits": credits.get("hasCredits"),
        "unlimited": credits.get("unlimited"),
        "balance": as_str(credits.get("balance")),
    }


def _error(params: dict[str, Any]) -> list[Payload]:
    data = error_info(params.get("error")) or {
        "message": "",
        "code": None,
        "http_status": None,
        "details": None,
    }
    will_retry = params.get("willRetry")
    data["will_retry"] = will_retry if isinstance(will_retry, bool) else False
    data["retry"] = retry_plan(data["message"]) if data["will_retry"] else None
    return [("error", data)]


_ATTEMPT = re.compile(r"(\d+)\s*/\s*(\d+)")


def retry_plan(message: str) -> str:
    """What codex does next after a retryable error, in words a person can act on.

    Codex says ``Reconnecting... 2/5`` while it spends a bounded number of retries,
    and ``Reconnecting... waiting for network`` once it waits for the connection to
    come back, with a growing pause and no limit.
    """
    attempt = _ATTEMPT.search(message)
    if attempt:
        n, total = attempt.groups()
        return (
            f"Codex is retrying by itself (attempt {n} of {total}); if every attempt "
            "fails, the turn ends with an error. Stop ends it now."
        )
    if "waiting for network" in message.lower():
        return (
            "The model service cannot be reached. Codex keeps retrying, with a longer "
            "pause each time, until the connection comes back; the turn stays open "
            "meanwhile. Stop ends it now."
        )
    return "Codex is retrying by itself. Stop ends the turn now."


def _warning(source: str) -> Callable[[dict[str, Any]], list[Payload]]:
    """``warning`` carries ``message``; config/deprecation notices a ``summary``."""

    def handle(params: dict[str, Any]) -> list[Payload]:
        message = as_str(params.get("message")) or as_str(params.get("summary")) or ""
        data = {"message": message, "details": params.get("details"), "source": source}
        return [("warning", data)]

    return handle


def _thread_started(params: dict[str, Any]) -> list[Payload]:
    thread = as_dict(params.get("thread"))
    data = {
        "thread_id": as_str(thread.get("id")),
        "parent_thread_id": as_str(thread.get("parentThreadId")),
        "forked_from_id": as_str(thread.get("forkedFromId")),
        "model": as_str(thread.get("model")),
        "cwd": as_str(thread.get("cwd")),
        "preview": as_str(thread.get("preview")),
    }
    return [("thread.started", data)]


def _thread_status(params: dict[str, Any]) -> list[Payload]:
    raw = params.get("status")
    status = as_dict(raw)
    kind = as_enum(status.get("type")) or as_enum(raw)
    flags = [as_enum(flag) for flag in as_list(status.get("activeFlags")) if isinstance(flag, str)]
    return [("thread.status", {"status": kind, "active_flags": flags})]


def _model_rerouted(params: dict[str, Any]) -> list[Payload]:
    data = {
        "from_model": as_str(params.get("fromModel")),
        "to_model": as_str(params.get("toModel")),
        "reason": params.get("reason"),
    }
    return [("model.rerouted", data)]


_HANDLERS: dict[str, Callable[[dict[str, Any]], list[Payload]]] = {
    "turn/started": _turn_started,
    "turn/completed": _turn_completed,
    "item/started": _item(completed=False),
    "item/completed": _item(completed=True),
    "item/agentMessage/delta": _delta("assistant.delta"),
    "item/reasoning/summaryTextDelta": _reasoning_delta(raw=False),
    "item/reasoning/textDelta": _reasoning_delta(raw=True),
    "item/commandExecution/outputDelta": _command_output,
    "item/plan/delta": _delta("plan.delta"),
    "item/fileChange/patchUpdated": _patch_updated,
    "item/mcpToolCall/progress": _tool_progress,
    "turn/plan/updated": _plan_updated,
    "turn/diff/updated": _diff_updated,
    "thread/tokenUsage/updated": _token_usage,
    "account/rateLimits/updated": _rate_limits,
    "error": _error,
    "warning": _warning("codex"),
    "configWarning": _warning("config"),
    "deprecationNotice": _warning("deprecation"),
    "thread/started": _thread_started,
    "thread/status/changed": _thread_status,
    "model/rerouted": _model_rerouted,
}

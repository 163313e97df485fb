"""Inline completion (ghost text in JupyterLab's editors) through the account router.

One Responses request per completion, sent like a proxy request of the ``api``
target (account choice, failover before the first byte, usage), with the fast
model and effort the frontend's settings name. The text streams back into one
answer; when the client goes away (the user typed on) the request is cancelled
and the upstream stream closed.
"""

from __future__ import annotations

import re
from typing import Any

from ..models import InlineCompletionRequest
from .errors import ProxyError
from .service import ProxyService
from .upstream import UpstreamHTTPError

INSTRUCTIONS = (
    "You are a code completion engine inside a Jupyter editor. Answer ONLY with the text "
    "to insert at <CURSOR>: no explanation, no code fences, no repetition of the text "
    "before or after the cursor. Answer nothing if nothing fits."
)
_FENCE = re.compile(r"^```[^\n]*\n(.*?)\n?```\s*$", re.DOTALL)


def completion_input(body: InlineCompletionRequest) -> str:
    language = body.language or "code"
    return f"{language} in {body.path or 'a notebook cell'}:\n{body.prefix}<CURSOR>{body.suffix}"


def clean(text: str) -> str:
    """The insertable text: fences and a leading cursor marker removed."""
    match = _FENCE.match(text.strip())
    if match:
        text = match.group(1)
    return text.replace("<CURSOR>", "")


class InlineCompleter:
    """Asks the upstream for the text at the cursor."""

    def __init__(self, proxy: ProxyService) -> None:
        self.proxy = proxy

    async def complete(self, body: InlineCompletionRequest) -> dict[str, Any]:
        await self.proxy.refresh_catalog()
        model = body.model or (self.proxy.model_ids() or [""])[0]
        request: dict[str, Any] = {
            "model": model,
            "instructions": INSTRUCTIONS,
            "input": [
                {
                    "role": "user",
                    "content": [{"type": "input_text", "text": completion_input(body)}],
                }
            ],
            "stream": True,
        }
        if body.effort:
            request["reasoning"] = {"effort": body.effort}
        try:
            prepared = self.proxy.prepare("responses", request, {}, "jupyter-inline-completion")
            exchange = self.proxy.exchange(prepared)
            await exchange.start()
            parts: list[str] = []
            async for event in exchange.events():
                if event.get("type") == "response.output_text.delta":
                    parts.append(str(event.get("delta") or ""))
        except (ProxyError, UpstreamHTTPError) as e:
            return {"completion": "", "model": model, "error": str(e)}
        return {"completion": clean("".join(parts)), "model": model, "error": None}


__all__ = ["InlineCompleter", "clean", "completion_input"]

"""The OpenAI- and Claude-compatible endpoints: thin handlers over the ProxyService.

Authentication and the dialect error funnel are the base's
(:mod:`.proxy_base`); the SSE engine is ``proxy/sse_writer.py``. Here: the
model lists, the unknown-route 404s, and the completion flow (translate, run
the exchange, answer in JSON or SSE; chat ``n > 1`` as parallel runs).
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..proxy.anthropic import count_tokens_estimate
from ..proxy.dialects import Adapter, AnthropicAdapter, ChatChoicesAdapter, adapter_for
from ..proxy.models_catalog import openai_model_list
from ..proxy.service import AnyExchange, Dialect, Prepared, ProxyError
from ..proxy.sse_writer import ClientGone
from ..proxy.upstream import UpstreamHTTPError
from ..tasks import all_or_none
from .proxy_base import ProxyHandler, allow_unauthenticated

T = TypeVar("T")


class ModelsHandler(ProxyHandler):
    """``GET codex/v1/models``."""

    @allow_unauthenticated
    async def get(self) -> None:
        await self.proxy.refresh_catalog()
        self.send_json(openai_model_list(self.proxy.model_ids(), created=int(time.time())))


class ModelHandler(ProxyHandler):
    """``GET codex/v1/models/{id}``: one model as the list shows it, or a 404."""

    @allow_unauthenticated
    async def get(self, model_id: str) -> None:
        await self.proxy.refresh_catalog()
        listed = openai_model_list(self.proxy.model_ids(), created=int(time.time()))["data"]
        by_id = {m["id"].lower(): m for m in listed}
        found = by_id.get(model_id.lower()) or by_id.get(model_id.lower().removeprefix("openai/"))
        if found is None:
            raise ProxyError(
                404,
                f"The model '{model_id}' does not exist or is not served here; "
                "GET /v1/models lists them.",
                code="model_not_found",
            )
        self.send_json(found)


class AnthropicModelsHandler(ProxyHandler):
    """``GET codex/claude/v1/models[/{id}]``: the served models in Anthropic's list shape."""

    adapter = AnthropicAdapter

    @allow_unauthenticated
    async def get(self, model_id: str | None = None) -> None:
        await self.proxy.refresh_catalog()
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        models = [
            {"type": "model", "id": m, "display_name": m, "created_at": created}
            for m in self.proxy.model_ids()
        ]
        if model_id is not None:
            found = next((m for m in models if m["id"].lower() == model_id.lower()), None)
            if found is None:
                raise ProxyError(404, f"model: {model_id} is not served here.")
            self.send_json(found)
            return
        self.send_json(
            {
                "data": models,
                "has_more": False,
                "first_id": models[0]["id"] if models else None,
                "last_id": models[-1]["id"] if models else None,
            }
        )


class UnknownOpenAIRouteHandler(ProxyHandler):
    """Any other path under ``codex/v1/``: a JSON 404 in the OpenAI dialect (after the
    same authentication, so a proxy key gets the 404 too, not Jupyter's HTML page)."""

    def _missing(self, *args: Any, **kwargs: Any) -> None:
        raise ProxyError(
            404,
            f"Unknown route {self.request.method} {self.request.path}; this proxy serves "
            "models, chat/completions and responses.",
            code="unknown_url",
        )

    get = post = put = patch = delete = allow_unauthenticated(_missing)


class UnknownAnthropicRouteHandler(UnknownOpenAIRouteHandler):
    """Any other path under ``codex/claude/``: a JSON 404 in the Anthropic dialect."""

    adapter = AnthropicAdapter

    def _missing(self, *args: Any, **kwargs: Any) -> None:
        raise ProxyError(
            404,
            f"Unknown route {self.request.method} {self.request.path}; this proxy serves "
            "v1/messages, v1/messages/count_tokens and v1/models.",
            code="not_found_error",
        )

    get = post = put = patch = delete = allow_unauthenticated(_missing)


class CompletionHandler(ProxyHandler):
    """Shared POST flow: translate, run the exchange, answer (JSON or SSE)."""

    dialect: Dialect = "chat"

    @allow_unauthenticated
    async def post(self) -> None:
        await self.proxy.refresh_catalog()
        prepared = self.proxy.prepare(
            self.dialect, self.json_body(), self.request.headers, self.client_id or "jupyter"
        )
        self.log_fields["model"] = prepared.model
        self.sse.stream_mode = prepared.stream
        self.sse.keepalive_seconds = self.proxy.keepalive_seconds
        adapter = adapter_for(prepared)
        self._adapter = adapter
        if prepared.dialect == "chat" and prepared.info.n > 1 and prepared.stream:
            await self._stream_choices(prepared, ChatChoicesAdapter(prepared, prepared.info.n))
            return
        if prepared.dialect == "chat" and prepared.info.n > 1:
            await self._choices(prepared, adapter)
            return
        exchange = self.proxy.exchange(prepared)
        try:
            await self._wait(exchange.start(), adapter)
            self.log_fields["account_id"] = exchange.account_id
            if prepared.stream:
                await self._relay(exchange, adapter)
            else:
                await self._collect(exchange, adapter)
            final = adapter.final_response()
            if final is not None:
                self.proxy.remember_response(prepared, final)
        except ClientGone:
            self.error_code = "client_closed"
            self.log.info("Proxy client went away; upstream request cancelled")
        finally:
            await exchange.aclose()

    async def _choices(self, prepared: Prepared, adapter: Adapter) -> None:
        """Chat ``n > 1``: the completion runs upstream ``n`` times (at once), then the
        answers merge into one ``chat.completion`` with choices ``0..n-1`` and the summed
        usage (each run is billed upstream)."""

        async def one() -> tuple[int, dict[str, Any], AnyExchange]:
            exchange = self.proxy.exchange(prepared)
            answer = adapter_for(prepared)
            try:
                await exchange.start()
                await self._gather(exchange, answer)
                return (*answer.result(), exchange)
            finally:
                await exchange.aclose()

        async def runs() -> list[tuple[int, dict[str, Any], AnyExchange]]:
            return await all_or_none(*(one() for _ in range(prepared.info.n)))

        try:
            results = await self._wait(runs(), adapter)
        except ClientGone:
            self.error_code = "client_closed"
            return
        for status, body, _ in results:
            if status != 200:
                self.error_code = str((body.get("error") or {}).get("code") or f"http_{status}")
                self.send_json(body, status)
                return
        merged = dict(results[0][1])
        merged["choices"] = [
            dict(body["choices"][0], index=i) for i, (_, body, _) in enumerate(results)
        ]
        usage: dict[str, Any] = {}
        for _, body, _ in results:
            for key, value in (body.get("usage") or {}).items():
                if isinstance(value, int):
                    usage[key] = usage.get(key, 0) + value
        merged["usage"] = {**(results[0][1].get("usage") or {}), **usage}
        self.log_fields["account_id"] = results[0][2].account_id
        self.log_fields["input_tokens"] = usage.get("prompt_tokens")
        self.log_fields["output_tokens"] = usage.get("completion_tokens")
        self.send_json(merged)

    async def _stream_choices(self, prepared: Prepared, adapter: ChatChoicesAdapter) -> None:
        """Streamed chat ``n > 1``: the ``n`` runs start at once (any failure before the
        first byte is the request's error, as for one run), then stream side by side, each
        as its own choice index."""
        self._adapter = adapter
        exchanges = [self.proxy.exchange(prepared) for _ in range(prepared.info.n)]

        async def start() -> None:
            await all_or_none(*(exchange.start() for exchange in exchanges))

        async def pump(index: int, exchange: AnyExchange) -> None:
            try:
                async for event in exchange.events():
                    frames = adapter.feed_choice(index, event)
                    if frames:
                        await self.sse.write_frames(frames)
            except UpstreamHTTPError as e:  # that run broke after it started
                self.log.warning("Upstream stream of account %s broke: %s", exchange.account_id, e)
                self.error_code = "upstream_stream_truncated"

        async def pump_all() -> None:
            await all_or_none(*(pump(i, e) for i, e in enumerate(exchanges)))

        try:
            await self._wait(start(), adapter)
            self.log_fields["account_id"] = exchanges[0].account_id
            await self.sse.send(b"")
            await self._wait(pump_all(), adapter)
            self.log_fields["input_tokens"] = adapter.usage.get("prompt_tokens")
            self.log_fields["output_tokens"] = adapter.usage.get("completion_tokens")
            self._finish_stream(adapter.finish())
        except ClientGone:
            self.error_code = "client_closed"
            self.log.info("Proxy client went away; upstream requests cancelled")
        finally:
            for exchange in exchanges:
                await exchange.aclose()

    def _note_usage(self, exchange: AnyExchange) -> None:
        """Token counts for the request log (written by ``on_finish``)."""
        if exchange.usage is not None:
            self.log_fields["input_tokens"] = exchange.usage.input_tokens
            self.log_fields["output_tokens"] = exchange.usage.output_tokens

    def adapter_error(self, status: int, message: str, code: str | None) -> bytes:
        return self._adapter.fail(status, message, code)

    async def _wait(self, work: Coroutine[Any, Any, T], adapter: Adapter) -> T:
        """Run ``work`` for this request with the dialect's keep-alives; a client that
        closes the connection cancels it (and raises ``ClientGone``): see ``SSEWriter.wait``.
        """
        return await self.sse.wait(work, adapter.keepalive, self.gone)

    async def _relay(self, exchange: AnyExchange, adapter: Adapter) -> None:
        await self.sse.send(b"")
        await self._wait(self._pump(exchange, adapter), adapter)
        self._note_usage(exchange)
        self._finish_stream(adapter.finish())

    async def _pump(self, exchange: AnyExchange, adapter: Adapter) -> None:
        """Translate and write every event (one task per stream, not one per event)."""
        try:
            async for event in exchange.events():
                frames = adapter.feed(event)
                if frames:
                    await self.sse.write_frames(frames)
        except UpstreamHTTPError as e:  # the stream broke after it started
            self.log.warning("Upstream stream of account %s broke: %s", exchange.account_id, e)
            self.error_code = "upstream_stream_truncated"

    async def _collect(self, exchange: AnyExchange, adapter: Adapter) -> None:
        await self._wait(self._gather(exchange, adapter), adapter)
        self._note_usage(exchange)
        status, body = adapter.result()
        if status != 200:
            self.error_code = str((body.get("error") or {}).get("code") or f"http_{status}")
        self.send_json(body, status)

    async def _gather(self, exchange: AnyExchange, adapter: Adapter) -> None:
        """Feed every event of a non-stream request to the adapter."""
        try:
            async for event in exchange.events():
                adapter.collect(event)
        except UpstreamHTTPError as e:
            self.log.warning("Upstream stream of account %s broke: %s", exchange.account_id, e)


class ChatCompletionsHandler(CompletionHandler):
    """``POST codex/v1/chat/completions``."""

    dialect: Dialect = "chat"


class ResponsesHandler(CompletionHandler):
    """``POST codex/v1/responses``."""

    dialect: Dialect = "responses"


class MessagesHandler(CompletionHandler):
    """``POST codex/claude/v1/messages``."""

    dialect: Dialect = "anthropic"
    adapter = AnthropicAdapter


class CountTokensHandler(ProxyHandler):
    """``POST codex/claude/v1/messages/count_tokens`` (an estimate; nothing goes upstream)."""

    adapter = AnthropicAdapter

    @allow_unauthenticated
    async def post(self) -> None:
        body = self.json_body()
        self.log_fields["model"] = body.get("model") if isinstance(body.get("model"), str) else None
        self.send_json({"input_tokens": count_tokens_estimate(body)})


def proxy_handlers() -> list[tuple[str, type]]:
    """URL patterns (relative to ``base_url``) of the OpenAI/Claude-compatible proxy."""
    return [
        (r"codex/v1/models", ModelsHandler),
        (r"codex/v1/chat/completions", ChatCompletionsHandler),
        (r"codex/v1/responses", ResponsesHandler),
        (r"codex/claude/v1/messages", MessagesHandler),
        (r"codex/claude/v1/messages/count_tokens", CountTokensHandler),
        (r"codex/v1/models/(?P<model_id>.+)", ModelHandler),
        (r"codex/claude/v1/models", AnthropicModelsHandler),
        (r"codex/claude/v1/models/(?P<model_id>[^/]+)", AnthropicModelsHandler),
        # last: everything else under the proxy prefixes is a 404 in its dialect
        (r"codex/v1/(?P<rest>.*)", UnknownOpenAIRouteHandler),
        (r"codex/claude/(?P<rest>.*)", UnknownAnthropicRouteHandler),
    ]


__all__ = ["proxy_handlers"]

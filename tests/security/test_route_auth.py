"""Every route the extension registers, every method it implements, refuses every kind
of bad credential: none, a wrong Jupyter token (token/Bearer/x-api-key), a forged or
valid proxy client key on a non-proxy route, a forged cookie. WebSockets too."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from typing import Any

import pytest
from helpers import Fetch
from tornado import web, websocket
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

import jupyter_codex.handlers

PROXY_PREFIXES = ("/codex/v1/", "/codex/claude/")
#: The only (method, path) anyone may call without credentials, and all it may answer.
ANONYMOUS = {("GET", "/codex/api/health"): {"status": "ok"}}


def anonymous_answer(method: str, path: str) -> dict[str, str] | None:
    return next((a for (m, p), a in ANONYMOUS.items() if m == method and path.endswith(p)), None)


def is_proxy(path: str) -> bool:
    return any(prefix in path for prefix in PROXY_PREFIXES)


BAD_CREDENTIALS: list[dict[str, str]] = [
    {},
    {"Authorization": "token not-the-token"},
    {"Authorization": "Bearer not-the-token"},
    {"x-api-key": "not-the-token"},
    {"Authorization": "Bearer jcx-" + "0" * 40},
    {"x-api-key": "jcx-" + "f" * 40},
    {"Cookie": "_xsrf=abc; username-127-0-0-1-8888=2|forged|cookie"},
]


def our_routes(serverapp: Any) -> list[tuple[str, type]]:
    """(concrete path, handler class) for every rule whose handler is ours."""
    routes = []
    for rule in _all_rules(serverapp.web_app.default_router):
        target = rule.target
        if not (isinstance(target, type) and target.__module__.startswith("jupyter_codex")):
            continue
        pattern = rule.matcher.regex.pattern
        path = re.sub(r"\(\?P<\w+>[^)]*\)", "abc123", pattern).rstrip("$")
        path = path.replace(".*", "anything").replace("\\", "")
        routes.append((path, target))
    return routes


def _all_rules(router: Any) -> list[Any]:
    rules = []
    for rule in getattr(router, "rules", []):
        if hasattr(rule.target, "rules"):
            rules += _all_rules(rule.target)
        elif hasattr(rule.matcher, "regex"):
            rules.append(rule)
    return rules


def implemented(handler: type) -> list[str]:
    """The HTTP methods a handler class really implements."""
    return [
        m
        for m in handler.SUPPORTED_METHODS
        if getattr(handler, m.lower()) is not web.RequestHandler._unimplemented_method
    ]


def handler_classes() -> set[type]:
    """Every concrete request handler defined in ``jupyter_codex.handlers``."""
    found: set[type] = set()
    for info in pkgutil.iter_modules(jupyter_codex.handlers.__path__):
        module = importlib.import_module(f"jupyter_codex.handlers.{info.name}")
        for name in dir(module):
            obj = getattr(module, name)
            if (
                isinstance(obj, type)
                and issubclass(obj, web.RequestHandler)
                and obj.__module__ == module.__name__
                and implemented(obj)
            ):
                found.add(obj)
    # Bases (CodexAPIHandler, ProxyHandler, ...) are never routed themselves.
    return {h for h in found if not any(o is not h and issubclass(o, h) for o in found)}


async def test_every_handler_we_define_is_registered_and_walked(jp_serverapp: Any) -> None:
    registered = {handler for _, handler in our_routes(jp_serverapp)}
    missing = {h.__name__ for h in handler_classes() - registered}
    assert not missing, f"handlers defined but not registered (or not walked): {missing}"
    paths = [p for p, _ in our_routes(jp_serverapp)]
    for expected in (
        "/codex/api/settings",
        "/codex/v1/responses",
        "/codex/claude/v1/messages",
        "/codex/api/health",
    ):
        assert any(p.endswith(expected) for p in paths), expected
    # We serve no static files of our own: JupyterLab serves the labextension bundle.
    assert not any(issubclass(h, web.StaticFileHandler) for h in registered)


async def walk(http_server_client: Any, routes: list[tuple[str, type]], headers: dict[str, str]):
    """Yield (method, path, response) for every implemented method of every route."""
    for path, handler in routes:
        for method in implemented(handler):
            body = "{}" if method in ("POST", "PATCH", "PUT") else None
            response = await http_server_client.fetch(
                path,
                method=method,
                body=body,
                headers=headers,
                raise_error=False,
                follow_redirects=False,
                allow_nonstandard_methods=True,
            )
            yield method, path, response


@pytest.mark.parametrize("headers", BAD_CREDENTIALS, ids=lambda h: ",".join(h) or "none")
async def test_every_route_refuses_bad_credentials(
    jp_serverapp: Any, http_server_client: Any, headers: dict[str, str]
) -> None:
    routes = our_routes(jp_serverapp)
    seen = 0
    async for method, path, response in walk(http_server_client, routes, headers):
        seen += 1
        if method == "OPTIONS":  # CORS pre-flight (Jupyter's own): allowed, but empty
            assert response.code in (200, 204, 401, 403) and not response.body, (path, response)
            continue
        allowed = anonymous_answer(method, path)
        if allowed is not None:
            assert response.code == 200 and json.loads(response.body) == allowed, (path, response)
            continue
        assert response.code in (401, 403), (method, path, headers, response.code, response.body)
        if is_proxy(path) and response.code == 401:
            body = json.loads(response.body)  # the client's dialect, even for auth errors
            assert "error" in body, body
    assert seen >= 40, seen


async def test_a_valid_proxy_key_opens_the_proxy_and_nothing_else(
    jp_serverapp: Any, http_server_client: Any, jp_fetch: Fetch
) -> None:
    created = await jp_fetch(
        "codex", "api", "keys", method="POST", body=json.dumps({"name": "walker"})
    )
    key = json.loads(created.body)["key"]
    routes = [(p, h) for p, h in our_routes(jp_serverapp) if not is_proxy(p)]
    for headers in ({"Authorization": f"Bearer {key}"}, {"x-api-key": key}):
        async for method, path, response in walk(http_server_client, routes, headers):
            if method != "OPTIONS" and anonymous_answer(method, path) is None:
                assert response.code in (401, 403), (method, path, response.code)
    models = await http_server_client.fetch(
        next(p for p, _ in our_routes(jp_serverapp) if p.endswith("/codex/v1/models")),
        headers={"Authorization": f"Bearer {key}"},
        raise_error=False,
    )
    assert models.code == 200  # the same key does open the proxy


async def test_websockets_refuse_bad_credentials(
    jp_serverapp: Any, jp_http_port: int, http_server_client: Any
) -> None:
    sockets = [
        path
        for path, handler in our_routes(jp_serverapp)
        if issubclass(handler, websocket.WebSocketHandler)
    ]
    assert sockets, "the events WebSocket must be registered"
    for path in sockets:
        for headers in BAD_CREDENTIALS:
            request = HTTPRequest(
                f"ws://localhost:{jp_http_port}{path}", headers=headers, request_timeout=20
            )
            with pytest.raises(HTTPClientError) as info:
                await websocket_connect(request)
            assert info.value.code in (401, 403), (path, headers, info.value.code)

"""Every route behind Jupyter auth; bad input gets a clear JSON 4xx, never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from helpers import Api, Fetch
from tornado.httpclient import HTTPClientError

METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT")


def codex_routes(serverapp: Any) -> list[str]:
    """Concrete paths for every registered ``codex/`` route pattern."""
    paths = []
    for rule in _all_rules(serverapp.web_app.default_router):
        pattern = rule.matcher.regex.pattern
        if "/codex/" not in pattern:
            continue
        path = re.sub(r"\(\?P<\w+>[^)]*\)", "abc123", pattern).rstrip("$")
        path = path.replace(".*", "anything").replace("\\", "")
        paths.append(path)
    return paths


def _all_rules(router: Any) -> list[Any]:
    """Flatten tornado's nested routers (extensions add a host-matched sub-router)."""
    rules = []
    for rule in getattr(router, "rules", []):
        if hasattr(rule.target, "rules"):
            rules += _all_rules(rule.target)
        elif hasattr(rule.matcher, "regex"):
            rules.append(rule)
    return rules


async def test_route_list_covers_the_public_contract(jp_serverapp: Any) -> None:
    routes = codex_routes(jp_serverapp)
    for expected in (
        "/codex/api/status",
        "/codex/api/sessions",
        "/codex/api/sessions/abc123/messages",
        "/codex/api/sessions/abc123/stop",
        "/codex/api/sessions/abc123/events",
        "/codex/api/approvals",
        "/codex/api/approvals/abc123",
        "/codex/api/events",
    ):
        assert any(r.endswith(expected) for r in routes), (expected, routes)


@pytest.mark.parametrize("authorization", ["", "token not-the-token"])
async def test_every_route_refuses_unauthenticated_requests(
    jp_serverapp: Any, http_server_client: Any, authorization: str
) -> None:
    routes = codex_routes(jp_serverapp)
    assert len(routes) >= 9
    for path in routes:
        for method in METHODS:
            body = "{}" if method in ("POST", "PATCH", "PUT") else None
            try:
                response = await http_server_client.fetch(
                    path,
                    method=method,
                    body=body,
                    headers={"Authorization": authorization},
                    raise_error=False,
                    follow_redirects=False,
                )
            except HTTPClientError as e:  # pragma: no cover - raise_error=False
                response = e.response
            if method == "GET" and path.endswith("/codex/api/health"):
                # The one anonymous route, and all it says (tests/security/test_route_auth.py).
                assert response.code == 200 and json.loads(response.body) == {"status": "ok"}
                continue
            assert response.code in (401, 403, 405), (method, path, response.code)
            if response.code == 405:
                continue  # method not allowed is decided before auth and reveals nothing
            assert b"session" not in (response.body or b"").lower() or response.code != 200


async def test_websocket_refuses_a_wrong_token(jp_ws_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_ws_fetch("codex", "api", "events", headers={"Authorization": "token nope"})
    assert info.value.code in (401, 403)


async def expect_error(
    fetch: Fetch, status: int, code: str, *path: str, **kwargs: Any
) -> dict[str, Any]:
    with pytest.raises(HTTPClientError) as info:
        await fetch("codex", "api", *path, **kwargs)
    assert info.value.code == status, info.value.response.body
    body = json.loads(info.value.response.body)
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body  # type: ignore[no-any-return]


async def test_bad_requests_get_clear_json_errors(jp_fetch: Fetch, jp_root_dir: Any) -> None:
    (jp_root_dir / "proj").mkdir()
    (jp_root_dir / "file.txt").write_text("x")

    post = {"method": "POST"}
    await expect_error(
        jp_fetch, 403, "path_outside_root", "sessions", body=json.dumps({"cwd": "../"}), **post
    )
    await expect_error(
        jp_fetch, 403, "path_outside_root", "sessions", body=json.dumps({"cwd": "/etc"}), **post
    )
    (jp_root_dir / "escape").symlink_to("/usr")
    await expect_error(
        jp_fetch, 403, "path_outside_root", "sessions", body=json.dumps({"cwd": "escape"}), **post
    )
    await expect_error(
        jp_fetch, 404, "not_found", "sessions", body=json.dumps({"cwd": "missing"}), **post
    )
    await expect_error(
        jp_fetch, 400, "invalid_request", "sessions", body=json.dumps({"cwd": "file.txt"}), **post
    )
    body = await expect_error(
        jp_fetch,
        400,
        "invalid_request",
        "sessions",
        body=json.dumps({"cwd": "proj", "effort": "enormous"}),
        **post,
    )
    assert body["error"]["details"]["fields"][0]["field"] == "effort"
    await expect_error(jp_fetch, 400, "invalid_request", "sessions", body="{not json", **post)
    await expect_error(jp_fetch, 400, "invalid_request", "sessions", body="[1, 2]", **post)
    big = json.dumps({"cwd": "proj", "title": "x" * (5 * 1024 * 1024)})
    await expect_error(jp_fetch, 413, "payload_too_large", "sessions", body=big, **post)

    await expect_error(jp_fetch, 404, "not_found", "sessions", "deadbeef")
    await expect_error(jp_fetch, 404, "not_found", "sessions", "deadbeef", "events")
    await expect_error(
        jp_fetch,
        404,
        "not_found",
        "sessions",
        "deadbeef",
        "messages",
        body=json.dumps({"text": "hi"}),
        **post,
    )
    await expect_error(
        jp_fetch, 400, "invalid_request", "sessions", "deadbeef", "events", params={"after": "soon"}
    )
    await expect_error(
        jp_fetch,
        404,
        "not_found",
        "approvals",
        "deadbeef",
        body=json.dumps({"decision": "accept"}),
        **post,
    )
    await expect_error(
        jp_fetch,
        400,
        "invalid_request",
        "approvals",
        "deadbeef",
        body=json.dumps({"decision": "yolo"}),
        **post,
    )
    await expect_error(jp_fetch, 404, "http_404", "no", "such", "route")


async def test_status_answers_without_starting_codex(api: Api) -> None:
    status = await api.call("GET", "status")
    assert status["version"]
    cli = status["targets"]["cli"]
    assert cli["state"] == "stopped" and cli["pid"] is None  # lazy: nothing started yet
    assert cli["auth"]["ready"] is True  # the conftest signed the cli target in
    assert status["sessions"] == {"total": 0, "running": 0}

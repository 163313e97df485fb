"""Finding the server: explicit arguments, the extension's variables, JupyterHub's."""

from __future__ import annotations

import pytest

from jupyter_codex.kernel import (
    AsyncCodexClient,
    CodexClient,
    ServerNotFoundError,
    discover_server,
)


def test_explicit_arguments_win() -> None:
    env = {"JUPYTER_CODEX_SERVER_URL": "http://127.0.0.1:1/", "JUPYTER_CODEX_SERVER_TOKEN": "t"}
    info = discover_server("http://localhost:8888/base", "secret", environ=env)
    assert (info.url, info.token, info.source) == (
        "http://localhost:8888/base/",
        "secret",
        "explicit",
    )
    # A URL without a token takes the environment's token.
    assert discover_server("http://h:1", environ=env).token == "t"


def test_extension_variables() -> None:
    env = {
        "JUPYTER_CODEX_SERVER_URL": "http://0.0.0.0:8888/lab-base/",
        "JUPYTER_CODEX_SERVER_TOKEN": "abc",
        "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:9/user/x/",
        "JUPYTERHUB_API_TOKEN": "hub",
    }
    info = discover_server(environ=env)
    assert (info.url, info.token, info.source) == ("http://127.0.0.1:8888/lab-base/", "abc", "env")
    assert "abc" not in repr(info)
    # Under JupyterHub the server may have no token of its own: the hub's token is used.
    del env["JUPYTER_CODEX_SERVER_TOKEN"]
    assert discover_server(environ=env).token == "hub"


def test_jupyterhub_variables() -> None:
    env = {
        "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:41234",
        "JUPYTERHUB_SERVICE_PREFIX": "/user/alice/",
        "JUPYTERHUB_API_TOKEN": "hub-token",
    }
    info = discover_server(environ=env)
    assert (info.url, info.token, info.source) == (
        "http://127.0.0.1:41234/user/alice/",
        "hub-token",
        "jupyterhub",
    )
    env["JUPYTERHUB_SERVICE_URL"] = "http://10.0.0.5:8888/user/alice/"
    assert discover_server(environ=env).url == "http://10.0.0.5:8888/user/alice/"


def test_nothing_found_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "JUPYTER_CODEX_SERVER_URL",
        "JUPYTER_CODEX_SERVER_TOKEN",
        "JUPYTERHUB_SERVICE_URL",
        "JUPYTERHUB_SERVICE_PREFIX",
        "JUPYTERHUB_API_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ServerNotFoundError) as caught:
        discover_server()
    message = str(caught.value)
    assert "JUPYTER_CODEX_SERVER_URL" in message and "CodexClient(" in message
    with pytest.raises(ServerNotFoundError):
        CodexClient.from_env()
    with pytest.raises(ServerNotFoundError):
        AsyncCodexClient.from_env()
    with pytest.raises(ServerNotFoundError, match="not a server URL"):
        discover_server("localhost:8888")


def test_from_env_uses_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_CODEX_SERVER_URL", "http://127.0.0.1:5/x")
    monkeypatch.setenv("JUPYTER_CODEX_SERVER_TOKEN", "tok")
    with CodexClient.from_env() as client:
        assert client.server.url == "http://127.0.0.1:5/x/" and client.server.source == "env"

"""DEMO MODE for Binder: jupyter-codex on the bundled fake OpenAI service.

Binder has no ChatGPT account and no network to OpenAI, so the demo starts the test
suite's fake upstream (``tests/fakes``: a loopback HTTPS server that answers like
OpenAI's backend, with canned replies) inside the Jupyter server process, signs a
demo account in on both targets, and turns ``demo_mode`` on: ``GET codex/api/status``
then says ``"demo_mode": true`` with a banner, and the server log says so at start.

Nothing here is part of the installed package; ``binder/jupyter_server_config.py``
calls :func:`configure` (and so does ``tests/binder/test_demo_config.py``).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO_ACCOUNT = ("demo-account", "demo@example.com")
DEMO_REPLY = (
    "DEMO MODE: this answer comes from the bundled fake OpenAI service, not from a real "
    "model. Install jupyter-codex and sign in with your ChatGPT account (or an API key) "
    "to get real answers."
)


def configure(c: Any) -> Any:
    """Start the fake upstream and fill ``c`` (a traitlets Config) for demo mode."""
    sys.path.insert(0, str(REPO / "tests"))
    from fakes import FakeUpstream, chatgpt_auth_json, codex_test_config

    fake = FakeUpstream(default_reply=DEMO_REPLY).start()
    atexit.register(fake.stop)
    data_dir = os.environ.get("JUPYTER_CODEX_DATA_DIR") or str(
        Path(tempfile.gettempdir()) / f"jupyter-codex-demo-{os.getuid()}"
    )
    account_id, email = DEMO_ACCOUNT
    refresh = fake.add_account(account_id, email)
    auth = chatgpt_auth_json(email, account_id, refresh, access_exp=int(time.time() + 3600))
    _seed_account(data_dir, fake, auth)

    codex = c.CodexExtensionApp
    codex.demo_mode = True
    codex.data_dir = data_dir
    codex.chatgpt_base_url = fake.chatgpt_base_url
    codex.openai_base_url = fake.openai_base_url
    codex.auth_base_url = fake.auth_base_url
    codex.ca_certificate = fake.ca_path
    codex.codex_config_overrides = codex_test_config(fake)
    c.ServerApp.jpserver_extensions = {
        **c.ServerApp.get("jpserver_extensions", {}),
        "jupyter_codex": True,
    }
    notebook = REPO / "notebooks" / "getting-started.ipynb"
    if notebook.exists():
        # `jupyter lab` serves LabApp.default_url; `jupyter server` serves ServerApp's.
        c.ServerApp.default_url = c.LabApp.default_url = "/lab/tree/notebooks/getting-started.ipynb"
    return fake


def _seed_account(data_dir: str, fake: Any, auth: dict[str, Any]) -> None:
    """Import the demo login into the store and make it active on both targets.

    Runs on its own thread with its own event loop: the server's loop does not run yet
    while config files load, and must not be created or closed here.
    """
    from jupyter_codex.core import CodexCore

    path = Path(data_dir) / "demo-auth.json"
    Path(data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(auth))
    path.chmod(0o600)

    async def seed() -> None:
        core = CodexCore(
            data_dir=data_dir,
            chatgpt_base_url=fake.chatgpt_base_url,
            auth_base_url=fake.auth_base_url,
            ca_certificate=fake.ca_path,
        )
        await core.open()
        try:
            account = await core.accounts.import_auth_json(str(path), "Demo account (fake)")
            for target in ("api", "cli"):
                await core.router.set_active(target, account.id, reason="demo", actor="demo")
        finally:
            await core.close()
            path.unlink(missing_ok=True)

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(seed())
        except BaseException as e:  # noqa: BLE001 - re-raised on the config thread
            errors.append(e)

    thread = threading.Thread(target=run, name="codex-demo-seed")
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]

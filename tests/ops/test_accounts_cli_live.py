"""``jupyter codex accounts logout`` (stop using, keep the account) and
``accounts cancel-login`` of a sign-in running on the server."""

from __future__ import annotations

import json
import time

import httpx
from fakes import chatgpt_auth_json
from ops_server import Ops


def test_logout_keeps_the_account_and_cancel_login_ends_a_server_sign_in(ops: Ops) -> None:
    rt = ops.fake.add_account("acct-out", "out@example.com", refresh_token="rt-out")
    api = httpx.Client(base_url=ops.url + "codex/api/", headers=ops.server.headers, timeout=30)
    with api:
        body = {
            "auth_json": chatgpt_auth_json(
                "out@example.com", "acct-out", rt, access_exp=int(time.time() + 1800)
            )
        }
        account = api.post("accounts/import", json=body).json()
        flow = api.post("accounts/login", json={"flow": "device"}).json()
    store = ops.env(JUPYTER_CODEX_DATA_DIR=str(ops.data))
    assert ops.cli("accounts", "use", account["id"], "--target", "cli", env=store).returncode == 0

    out = ops.cli("accounts", "logout", account["id"], "--target", "cli", env=store)
    assert out.returncode == 0, out.stderr
    assert "no longer uses" in out.stdout
    again = ops.cli("accounts", "logout", account["id"], "--target", "cli", "--json", env=store)
    assert json.loads(again.stdout) == {
        "account_id": account["id"],
        "target": "cli",
        "logged_out": False,
    }
    listed = json.loads(ops.cli("accounts", "list", "--json", env=store).stdout)
    kept = next(a for a in listed if a["id"] == account["id"])
    assert "cli" not in kept["active_targets"], "logged out of the target, still stored"

    bad = ops.cli("accounts", "logout", "nope", "--target", "cli", env=store)
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")

    out = ops.cli("accounts", "cancel-login", flow["id"], "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "cancelled"

"""Images: uploaded, stored under the data dir, sent to Codex as ``localImage``."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fakes import FakeUpstream, text
from fakes.sse import user_images
from helpers import Api, turn_completed
from tornado.httpclient import HTTPClientError

#: A 1×1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def test_an_uploaded_image_reaches_the_model(
    api: Api,
    jp_root_dir: Path,
    fake_upstream: FakeUpstream,
    codex_data_dir: Path,
    jp_fetch: object,
) -> None:
    fake_upstream.script("IMG-1", text("I see a pixel"))
    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    image = await api.call("POST", "sessions", sid, "images", body={"data": data_url})
    assert image["mime"] == "image/png" and image["size"] == len(PNG)
    stored = codex_data_dir / "images" / sid / f"{image['id']}.png"
    assert stored.read_bytes() == PNG and stored.stat().st_mode & 0o077 == 0

    await api.call(
        "POST",
        "sessions",
        sid,
        "messages",
        body={"text": "IMG-1 what is this", "images": [image["id"]]},
    )
    await api.wait_event(sid, turn_completed)
    body = fake_upstream.responses_requests("IMG-1")[-1].body
    images = user_images(body)
    assert images and base64.b64encode(PNG).decode() in json.dumps(images)
    user = next(e for e in await api.events(sid) if e["type"] == "user.message")
    assert user["data"]["images"] == [{"path": str(stored)}]

    # The thumbnail is served back (behind auth) with its type.
    response = await jp_fetch("codex", "api", "sessions", sid, "images", image["id"])  # type: ignore[operator]
    assert response.body == PNG and response.headers["Content-Type"] == "image/png"


async def test_bad_images_are_refused(api: Api, jp_root_dir: Path) -> None:
    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    for body, needle in (
        ({"data": base64.b64encode(b"not an image").decode()}, "PNG"),
        ({"data": "%%%"}, "base64"),
        ({"data": base64.b64encode(PNG + b"\0" * (4 * 1024 * 1024)).decode()}, "limit"),
    ):
        with pytest.raises(HTTPClientError) as err:
            await api.call("POST", "sessions", sid, "images", body=body)
        assert err.value.code in (400, 413)
        assert needle in json.loads(err.value.response.body)["error"]["message"]  # type: ignore[union-attr]
    with pytest.raises(HTTPClientError) as err:
        await api.call(
            "POST", "sessions", sid, "messages", body={"text": "x", "images": ["0" * 32]}
        )
    assert err.value.code == 404

"""Images a user gives a session (pasted, dropped, attached, a plot from a notebook).

Each is stored as a file under the data dir (``images/<session id>/<image id>.<ext>``,
0600 in a 0700 folder) and sent to Codex as a ``localImage`` input with its path, so
the conversation references a file instead of carrying megabytes of base64 in every
event. Only PNG, JPEG, GIF and WebP are taken, recognised by their first bytes.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from traitlets import Int
from traitlets.config import LoggingConfigurable

from ..errors import InvalidRequestError, NotFoundError

#: Magic bytes → (MIME type, file extension).
_FORMATS: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)
_ID = re.compile(r"^[0-9a-f]{32}$")
_MIMES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


def sniff(data: bytes) -> tuple[str, str] | None:
    """``(mime, extension)`` of an image we accept, from its first bytes."""
    for magic, mime, ext in _FORMATS:
        if data.startswith(magic):
            return mime, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


class ImageStore(LoggingConfigurable):
    """Stores session images as files and turns their ids into ``localImage`` inputs."""

    max_image_bytes = Int(
        3 * 1024 * 1024,
        config=True,
        help="Largest image (decoded bytes) a message may carry (default 3 MiB); a larger "
        "one is refused with a 400 naming this limit. The REST body limit "
        "(max_body_bytes) also applies to the base64 upload.",
    )
    max_images_per_message = Int(8, config=True, help="Most images one message may carry.")

    def __init__(self, directory: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.directory = Path(directory)

    def _folder(self, session_id: str) -> Path:
        folder = self.directory / session_id
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder

    def save(self, session_id: str, data_b64: str) -> dict[str, Any]:
        """Store a base64 image; its id, type and size."""
        try:
            # Line-wrapped base64 (Jupyter's contents API wraps it) is fine too.
            data = base64.b64decode("".join(data_b64.split(",", 1)[-1].split()), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequestError("'data' must be a base64-encoded image.") from None
        if len(data) > self.max_image_bytes:
            raise InvalidRequestError(
                f"The image is {len(data):,} bytes; the limit is {self.max_image_bytes:,} "
                "(ImageStore.max_image_bytes)."
            )
        kind = sniff(data)
        if kind is None:
            raise InvalidRequestError("Only PNG, JPEG, GIF and WebP images are accepted.")
        mime, ext = kind
        image_id = uuid.uuid4().hex
        path = self._folder(session_id) / f"{image_id}.{ext}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return {"id": image_id, "mime": mime, "size": len(data)}

    def path(self, session_id: str, image_id: str) -> Path:
        """The file of one stored image (404 for an unknown or malformed id)."""
        if _ID.match(image_id):
            folder = self.directory / session_id
            for ext in _MIMES:
                candidate = folder / f"{image_id}.{ext}"
                if candidate.is_file():
                    return candidate
        raise NotFoundError(f"No image {image_id!r} in this session.")

    @staticmethod
    def mime_of(path: Path) -> str:
        return _MIMES.get(path.suffix.lstrip("."), "application/octet-stream")

    def inputs(self, session_id: str, image_ids: list[str]) -> list[dict[str, Any]]:
        """``localImage`` inputs for a message's images."""
        if len(image_ids) > self.max_images_per_message:
            raise InvalidRequestError(
                f"At most {self.max_images_per_message} images per message "
                "(ImageStore.max_images_per_message)."
            )
        return [{"type": "localImage", "path": str(self.path(session_id, i))} for i in image_ids]

    def forget(self, session_id: str) -> None:
        """Delete a session's images (the session is deleted)."""
        shutil.rmtree(self.directory / session_id, ignore_errors=True)


__all__ = ["ImageStore", "sniff"]

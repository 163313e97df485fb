"""Encryption at rest for account secrets (OAuth tokens, API keys).

Secrets are sealed with Fernet (AES-128-CBC + HMAC-SHA256) so that a copied
database file is useless without the key. The key comes from, in order:

1. the ``key`` argument (tests, embedding);
2. the environment variable ``JUPYTER_CODEX_SECRET_KEY`` (a Fernet key, i.e. 32
   url-safe base64-encoded bytes, as printed by
   ``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``),
   for deployments that keep secrets out of the data directory (a Kubernetes
   secret, a JupyterHub spawner environment);
3. the key file ``<data_dir>/secret.key``, created on first use with mode 0600
   inside a 0700 data directory.

Losing or replacing the key makes every stored secret unreadable: the accounts
must then be added again. :class:`SecretBox` says exactly that instead of
failing with a bare decryption error.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from ..errors import StoreError

ENV_SECRET_KEY = "JUPYTER_CODEX_SECRET_KEY"
KEY_FILE_NAME = "secret.key"

log = logging.getLogger(__name__)


class SecretBox:
    """Seals JSON-able dicts with one Fernet key, loaded (or created) lazily.

    Loading is lazy so that listing accounts or opening the store never needs the
    key, and thread-safe because repositories encrypt on the database thread.
    """

    def __init__(self, data_dir: str | os.PathLike[str], *, key: str | bytes | None = None) -> None:
        self.data_dir = Path(data_dir)
        self._explicit_key = key
        self._fernet: Fernet | None = None
        self._source = ""
        self._lock = threading.Lock()

    @property
    def key_path(self) -> Path:
        """Where the key file lives (used only when no key is given or set in the env)."""
        return self.data_dir / KEY_FILE_NAME

    @property
    def key_source(self) -> str:
        """Human-readable origin of the key in use (for error messages and logs)."""
        self._get_fernet()
        return self._source

    def encrypt(self, data: dict[str, Any]) -> bytes:
        """Seal ``data`` (JSON-serialisable) into an opaque token."""
        return self._get_fernet().encrypt(json.dumps(data, separators=(",", ":")).encode())

    def decrypt(self, blob: bytes) -> dict[str, Any]:
        """Open a token made by :meth:`encrypt`; a different key raises :class:`StoreError`."""
        fernet = self._get_fernet()
        try:
            raw = fernet.decrypt(bytes(blob))
        except InvalidToken:
            raise StoreError(
                "Cannot decrypt the stored account secrets: they were sealed with a different "
                f"key than the one in use ({self._source}). The key was replaced or lost. Restore "
                "the original key, or remove the affected accounts and add them again."
            ) from None
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise StoreError(
                "A stored account secret is corrupt; remove the account and add it again."
            )
        return value

    def ensure_key(self) -> None:
        """Load or create the key now (e.g. at start-up, to fail early)."""
        self._get_fernet()

    # -- key loading -------------------------------------------------------------------

    def _get_fernet(self) -> Fernet:
        if self._fernet is not None:
            return self._fernet
        with self._lock:
            if self._fernet is None:
                self._fernet = self._load()
            return self._fernet

    def _load(self) -> Fernet:
        if self._explicit_key is not None:
            return self._fernet_from(self._explicit_key, "the key given to SecretBox")
        env = os.environ.get(ENV_SECRET_KEY, "").strip()
        if env:
            return self._fernet_from(env, f"${ENV_SECRET_KEY}")
        return self._fernet_from(self._read_or_create_key_file(), f"the key file {self.key_path}")

    def _fernet_from(self, key: str | bytes, source: str) -> Fernet:
        self._source = source
        try:
            return Fernet(key.strip() if isinstance(key, bytes) else key.strip().encode())
        except (ValueError, TypeError):
            raise StoreError(
                f"The encryption key from {source} is not a valid Fernet key (32 url-safe "
                "base64-encoded bytes). Fix or remove it; with a new key the stored accounts "
                "must be added again."
            ) from None

    def _read_or_create_key_file(self) -> bytes:
        self._ensure_private_dir()
        path = self.key_path
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._read_key_file()
        except OSError as e:
            raise StoreError(f"Cannot create the key file {path}: {e.strerror}.") from e
        key = Fernet.generate_key()
        try:
            os.write(fd, key + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        log.info("Created the jupyter-codex encryption key %s", path)
        return key

    def _read_key_file(self) -> bytes:
        path = self.key_path
        # Another process may have just created the file and not written it yet.
        deadline = time.monotonic() + 2.0
        while True:
            try:
                data = path.read_bytes().strip()
            except OSError as e:
                raise StoreError(f"Cannot read the key file {path}: {e.strerror}.") from e
            if data or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("Key file %s had mode %o; tightening it to 0600", path, mode)
            path.chmod(0o600)
        return data

    def _ensure_private_dir(self) -> None:
        directory = self.data_dir
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            mode = stat.S_IMODE(directory.stat().st_mode)
            if mode & 0o077:
                log.warning("Data directory %s had mode %o; tightening it to 0700", directory, mode)
                directory.chmod(0o700)
        except OSError as e:
            raise StoreError(f"Cannot prepare the data directory {directory}: {e.strerror}.") from e


__all__ = ["ENV_SECRET_KEY", "KEY_FILE_NAME", "SecretBox"]

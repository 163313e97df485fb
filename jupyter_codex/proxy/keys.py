"""Proxy client keys: created once, stored as a keyed hash, checked per request.

A key is ``jcx-`` followed by 32 url-safe random characters. Only
``HMAC-SHA256(secret, key)`` is stored, with the secret in its own file
``<data_dir>/proxy_keys.secret`` (mode 0600, created on first use): a copied
database alone cannot be used to test guesses offline. The plaintext key is
returned by :meth:`ProxyKeys.create` and never again.

Verification caches good keys for a few seconds; a revocation made in this
process takes effect at once, one made by the CLI within ``cache_seconds``.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import os
import secrets
import time
import uuid
from pathlib import Path

from ..errors import CodexError, InvalidRequestError
from ..store.proxy import ProxyKey, ProxyKeyRepository

KEY_PREFIX = "jcx-"
SECRET_FILE_NAME = "proxy_keys.secret"
_DISPLAY_CHARS = 8


class RateLimitedError(CodexError):
    """A client key sent more requests per minute than it may."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class ProxyKeys:
    """Create, list, revoke and verify client keys; per-key request rate limits."""

    def __init__(
        self,
        repo: ProxyKeyRepository,
        data_dir: str | os.PathLike[str],
        *,
        cache_seconds: float = 5.0,
    ) -> None:
        self.repo = repo
        self.secret_path = Path(data_dir) / SECRET_FILE_NAME
        self.cache_seconds = cache_seconds
        self._secret: bytes | None = None
        self._cache: dict[str, tuple[ProxyKey, float]] = {}
        self._hits: dict[str, collections.deque[float]] = {}

    # -- management ------------------------------------------------------------------

    async def create(
        self, name: str, *, rate_limit_per_minute: int | None = None
    ) -> tuple[ProxyKey, str]:
        """A new key: its listing and the plaintext key (shown to the user once)."""
        name = (name or "").strip()
        if not name or len(name) > 64:
            raise InvalidRequestError("A key needs a name of 1 to 64 characters.")
        if rate_limit_per_minute is not None and rate_limit_per_minute < 1:
            raise InvalidRequestError("rate_limit_per_minute must be at least 1 (or omitted).")
        plaintext = KEY_PREFIX + secrets.token_urlsafe(24)
        key_id = uuid.uuid4().hex[:12]
        record = await self.repo.insert(
            key_id,
            name,
            plaintext[: len(KEY_PREFIX) + _DISPLAY_CHARS],
            await self._hash(plaintext),
            rate_limit_per_minute,
        )
        return record, plaintext

    async def list(self) -> list[ProxyKey]:
        return await self.repo.list()

    async def revoke(self, key_id: str) -> ProxyKey:
        """Revoke now; requests with the key are refused from the next one on."""
        record = await self.repo.revoke(key_id)
        self._cache = {h: v for h, v in self._cache.items() if v[0].id != key_id}
        self._hits.pop(key_id, None)
        return record

    # -- requests --------------------------------------------------------------------

    @staticmethod
    def looks_like_key(value: str) -> bool:
        return value.startswith(KEY_PREFIX)

    async def verify(self, presented: str) -> ProxyKey | None:
        """The key's record if ``presented`` is a valid, unrevoked key, else None."""
        if not self.looks_like_key(presented) or len(presented) > 200:
            return None
        digest = await self._hash(presented)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        record = await self.repo.by_hash(digest)
        if record is None or record.revoked:
            self._cache.pop(digest, None)
            return None
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[digest] = (record, now + self.cache_seconds)
        return record

    def check_rate(self, key: ProxyKey, default_per_minute: int = 0) -> None:
        """Count one request; :class:`RateLimitedError` beyond the key's limit per minute.

        The key's own limit wins; else ``default_per_minute`` (0 = unlimited).
        """
        limit = key.rate_limit_per_minute or default_per_minute
        if limit <= 0:
            return
        now = time.monotonic()
        hits = self._hits.setdefault(key.id, collections.deque())
        while hits and hits[0] <= now - 60.0:
            hits.popleft()
        if len(hits) >= limit:
            retry = max(1.0, 60.0 - (now - hits[0]))
            raise RateLimitedError(
                f"This key may send {limit} requests per minute; retry in {retry:.0f} s.",
                retry_after=retry,
            )
        hits.append(now)

    # -- the secret ------------------------------------------------------------------

    async def _hash(self, plaintext: str) -> str:
        secret = self._secret
        if secret is None:
            secret = self._secret = await asyncio.to_thread(self._load_secret)
        return hmac.new(secret, plaintext.encode(), hashlib.sha256).hexdigest()

    def _load_secret(self) -> bytes:
        path = self.secret_path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            deadline = time.monotonic() + 2.0
            while not (data := path.read_bytes().strip()) and time.monotonic() < deadline:
                time.sleep(0.02)  # another process created it and is writing it
            if len(data) < 32:
                raise CodexError(
                    f"The proxy key secret {path} is empty or too short; delete it (every "
                    "client key then has to be created again)."
                ) from None
            if os.stat(path).st_mode & 0o077:
                path.chmod(0o600)
            return data
        secret = secrets.token_hex(32).encode()
        try:
            os.write(fd, secret + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        return secret


__all__ = ["KEY_PREFIX", "ProxyKeys", "RateLimitedError"]

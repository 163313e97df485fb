"""Which workspace session a ``%codex`` call (or a chat widget) talks to.

One session per notebook by default: it is titled after the notebook and runs
in the kernel's folder, so after a kernel restart ``%codex`` finds the same
conversation again. ``--session NAME|ID`` picks a session by id (or a unique
id prefix) or by title, creating a titled one when the name is new;
``--new`` always starts a fresh one, which then becomes the default.

Notebook tools: codex fixes a thread's tools when it starts, and the server stores
each session's declaration (``Session.tools``), also across kernel restarts. When
a turn's tools differ from the declared ones,
the notebook's default or named session is continued in a new session with the
same title, folder and settings, declared with the current tools. A session
picked by id is used as it is.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from ..client import AsyncCodexClient, Tool
from ..errors import InvalidRequestError, NotFoundError, PathOutsideRootError
from ..models import Session
from .notebook_tools import describe, fingerprint, spec_fingerprint

#: What a session id looks like (uuid4 hex); a name like that is never created.
_ID = re.compile(r"^[0-9a-f]{32}$")
_ID_PREFIX = re.compile(r"^[0-9a-f]{6,31}$")


@dataclass
class SessionRequest:
    """The session part of a ``%codex`` call."""

    name: str | None = None
    new: bool = False
    cwd: str | None = None
    model: str | None = None
    effort: str | None = None


@dataclass
class SessionBook:
    """The kernel's memory of its sessions: the default one and named ones."""

    notebook: str | None = None
    default_id: str | None = None
    named: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def default_title(self) -> str:
        if self.notebook:
            return os.path.basename(self.notebook)
        return f"IPython kernel {os.getpid()}"

    async def resolve(
        self,
        client: AsyncCodexClient,
        request: SessionRequest,
        tools: list[Tool] | None = None,
    ) -> Session:
        """Find or create the session ``request`` names; apply ``--model``/``--effort``.

        ``tools`` are the notebook's tools for this turn: a new session is declared
        with them, and a found one whose thread cannot serve them is continued in a
        new session (see the module's docstring). ``None`` leaves tools alone.
        """
        session = await self._find_or_create(client, request, tools)
        name = (request.name or "").strip()
        pinned = (  # --session ID (or an id prefix): that very session, as it is
            bool(_ID.match(name) or _ID_PREFIX.match(name)) and session.id.startswith(name)
        )
        if tools is not None and not pinned and not self.can_serve(session, tools):
            session = await self._restart_with(client, session, tools)
        model = request.model if request.model and request.model != session.model else None
        effort = request.effort if request.effort and request.effort != session.effort else None
        if model or effort:
            session = await client.update_session(session.id, model=model, effort=effort)
        return session

    @staticmethod
    def can_serve(session: Session, tools: list[Tool]) -> bool:
        """Was the session's thread declared with exactly these tools? The server's
        record decides, whichever kernel (or a kernel before a restart) started it."""
        return spec_fingerprint(session.tools or []) == fingerprint(tools)

    async def _restart_with(
        self, client: AsyncCodexClient, old: Session, tools: list[Tool]
    ) -> Session:
        """A new session like ``old`` (title, folder, settings) declared with ``tools``;
        it takes ``old``'s place as the default or named session."""
        session = await client.create_session(
            old.cwd,
            model=old.model,
            effort=old.effort,
            approval_policy=old.approval_policy,
            sandbox=old.sandbox,
            title=old.title,
            tools=tools,
            notebook=old.notebook,
        )
        if self.default_id == old.id:
            self.default_id = session.id
        for name, known in list(self.named.items()):
            if known == old.id:
                self.named[name] = session.id
        self.notes.append(
            f"Codex sets a session's tools when the session starts, and session {old.id[:8]} "
            f"did not start with this notebook's tools ({describe(tools)}); continuing in a "
            f"new session {session.id[:8]}. The earlier conversation stays in {old.id[:8]} "
            f"(%codex --session {old.id})."
        )
        return session

    async def _find_or_create(
        self, client: AsyncCodexClient, request: SessionRequest, tools: list[Tool] | None
    ) -> Session:
        if request.name:
            return await self._named(client, request, tools)
        if request.new:
            session = await self._create(client, request, self.default_title, tools)
            self.default_id = session.id
            return session
        if self.default_id and request.cwd is None:
            try:
                return await client.get_session(self.default_id)
            except NotFoundError:
                self.notes.append("The notebook's session was deleted; starting a new one.")
                self.default_id = None
        if self.notebook and request.cwd is None:
            for session in await client.list_sessions():
                if session.title == self.default_title and session.target == "cli":
                    self.default_id = session.id
                    return session
        session = await self._create(client, request, self.default_title, tools)
        if request.cwd is None:
            self.default_id = session.id
        return session

    async def _named(
        self, client: AsyncCodexClient, request: SessionRequest, tools: list[Tool] | None
    ) -> Session:
        name = str(request.name).strip()
        if request.new:
            session = await self._create(client, request, name, tools)
            self.named[name] = session.id
            return session
        known = self.named.get(name)
        if known:
            try:
                return await client.get_session(known)
            except NotFoundError:
                del self.named[name]
        if _ID.match(name):
            return await client.get_session(name)  # NotFoundError names the id
        sessions = await client.list_sessions()
        if _ID_PREFIX.match(name):
            matches = [s for s in sessions if s.id.startswith(name)]
            if len(matches) == 1:
                return matches[0]
        titled = [s for s in sessions if s.title == name]
        if titled:
            self.named[name] = titled[0].id
            return titled[0]
        session = await self._create(client, request, name, tools)
        self.named[name] = session.id
        return session

    async def _create(
        self,
        client: AsyncCodexClient,
        request: SessionRequest,
        title: str,
        tools: list[Tool] | None = None,
    ) -> Session:
        """A session in ``--cwd`` or the kernel's folder.

        A relative ``--cwd`` means a folder next to the notebook (the kernel's folder);
        failing that, a folder under the server's root. Without ``--cwd``, a kernel
        whose folder is outside the root gets a session in the root.
        """
        kernel_dir = os.getcwd()
        if request.cwd is None:
            candidates = [kernel_dir, ""]
        elif PurePath(request.cwd).is_absolute():
            candidates = [request.cwd]
        else:
            candidates = [str(PurePath(kernel_dir) / request.cwd), request.cwd]
        for index, cwd in enumerate(candidates):
            try:
                session = await self._create_bound(
                    client,
                    cwd,
                    model=request.model,
                    effort=request.effort,
                    title=title,
                    tools=tools,
                )
            except (PathOutsideRootError, NotFoundError):
                if index == len(candidates) - 1:
                    raise
                continue
            if request.cwd is None and cwd == "":
                self.notes.append(
                    "The kernel's folder is not under the Jupyter server's root; the session "
                    "runs in the root folder (use --cwd to choose another)."
                )
            return session
        raise AssertionError("unreachable")  # pragma: no cover

    async def _create_bound(self, client: AsyncCodexClient, cwd: str, **options: Any) -> Session:
        """A session bound to this notebook (its thread gets the ``notebook_*`` tools),
        or an unbound one when the server cannot bind it (an unsaved or moved notebook,
        one outside the root)."""
        if self.notebook:
            try:
                return await client.create_session(cwd, notebook=self.notebook, **options)
            except (InvalidRequestError, NotFoundError):
                pass
        return await client.create_session(cwd, **options)


_shared: SessionBook | None = None


def shared_book() -> SessionBook:
    """The kernel's one book, so ``%codex`` and ``ChatWidget()`` share the notebook's session."""
    global _shared
    if _shared is None:
        _shared = SessionBook()
    if _shared.notebook is None:
        try:
            from IPython.core.getipython import get_ipython

            from .context import notebook_path

            shell = get_ipython()
            if shell is not None:
                _shared.notebook = notebook_path(shell.user_ns)
        except ImportError:  # pragma: no cover - IPython is there whenever widgets are
            pass
    return _shared


__all__ = ["SessionBook", "SessionRequest", "shared_book"]

"""Confine client-supplied paths to the Jupyter server's root directory."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InvalidRequestError, NotFoundError, PathOutsideRootError


def resolve_folder(root_dir: str, relative: str) -> tuple[Path, str]:
    """Resolve a client folder path against ``root_dir``.

    Returns the absolute, symlink-resolved folder and its canonical path
    relative to the root (``""`` for the root itself). Absolute paths are
    accepted only when they lie inside the root; ``..`` and symlinks that
    leave the root are refused, so a client can never point Codex elsewhere.
    """
    if "\x00" in relative:
        raise InvalidRequestError("The folder path contains a NUL byte.")
    root = Path(root_dir).expanduser().resolve()
    candidate = Path(relative.strip() or ".")
    if not candidate.is_absolute():
        candidate = root / candidate
    resolved = Path(os.path.realpath(candidate))
    if resolved != root and root not in resolved.parents:
        raise PathOutsideRootError(
            f"The folder {relative!r} is outside the server's root directory; "
            "use a path relative to the folder Jupyter was started in."
        )
    if not resolved.exists():
        raise NotFoundError(f"The folder {relative!r} does not exist under the server's root.")
    if not resolved.is_dir():
        raise InvalidRequestError(f"{relative!r} is a file, not a folder.")
    rel = resolved.relative_to(root).as_posix()
    return resolved, "" if rel == "." else rel


def resolve_file(root_dir: str, relative: str) -> Path:
    """Resolve a client file path inside ``root_dir`` (same rules as folders)."""
    parent, name = os.path.split(relative.strip())
    if not name:
        raise InvalidRequestError("A file path is required.")
    folder, _ = resolve_folder(root_dir, parent)
    resolved = Path(os.path.realpath(folder / name))
    root = Path(root_dir).expanduser().resolve()
    if root not in resolved.parents:
        raise PathOutsideRootError(f"The file {relative!r} is outside the server's root directory.")
    if not resolved.is_file():
        raise NotFoundError(f"The file {relative!r} does not exist under the server's root.")
    return resolved


def check_allowed_folder(relative: str, allowed: list[str]) -> None:
    """Refuse a resolved folder (relative to the root) outside the administrator's
    ``allowed`` folders; an empty list allows the whole root."""
    if not allowed:
        return
    parts = Path(relative).parts if relative else ()
    for entry in allowed:
        prefix = Path(entry.strip().strip("/") or ".").parts
        prefix = () if prefix == (".",) else prefix
        if parts[: len(prefix)] == prefix:
            return
    shown = ", ".join(repr(a) for a in allowed)
    raise PathOutsideRootError(
        f"Sessions may only run in these folders (set by the administrator): {shown}."
    )

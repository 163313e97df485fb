"""Confine client-supplied paths to the Jupyter server's root directory."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InvalidRequestError, NotFoundError, PathOutsideRootError

#: Longest client path accepted (Linux's PATH_MAX); one name may have at most NAME_MAX.
MAX_PATH_CHARS = 4096
MAX_NAME_CHARS = 255


def _shown(path: str) -> str:
    """A client path for an error message: quoted, and cut short if it is long."""
    return repr(path if len(path) <= 80 else path[:60] + "…" + path[-15:])


def _check_shape(relative: str) -> None:
    """Refuse paths no file system accepts, with a 400 instead of an OSError."""
    if "\x00" in relative:
        raise InvalidRequestError("The folder path contains a NUL byte.")
    if len(relative) > MAX_PATH_CHARS:
        raise InvalidRequestError(
            f"The path is {len(relative)} characters long; the limit is {MAX_PATH_CHARS}."
        )
    if any(
        len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_CHARS for part in relative.split("/")
    ):
        raise InvalidRequestError(
            f"A name in the path {_shown(relative)} is longer than {MAX_NAME_CHARS} bytes."
        )
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidRequestError(f"The path {_shown(relative)} is not valid Unicode.") from e


def resolve_folder(root_dir: str, relative: str) -> tuple[Path, str]:
    """Resolve a client folder path against ``root_dir``.

    Returns the absolute, symlink-resolved folder and its canonical path
    relative to the root (``""`` for the root itself). Absolute paths are
    accepted only when they lie inside the root; ``..`` and symlinks that
    leave the root are refused, so a client can never point Codex elsewhere.
    """
    _check_shape(relative)
    root = Path(root_dir).expanduser().resolve()
    candidate = Path(relative.strip() or ".")
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        resolved = Path(os.path.realpath(candidate))
        if resolved != root and root not in resolved.parents:
            raise PathOutsideRootError(
                f"The folder {_shown(relative)} is outside the server's root directory; "
                "use a path relative to the folder Jupyter was started in."
            )
        if not resolved.exists():
            raise NotFoundError(
                f"The folder {_shown(relative)} does not exist under the server's root."
            )
        if not resolved.is_dir():
            raise InvalidRequestError(f"{_shown(relative)} is a file, not a folder.")
    except OSError as e:  # too long, too many links, a permission problem, …
        raise InvalidRequestError(
            f"The folder {_shown(relative)} cannot be used: {e.strerror or e}."
        ) from e
    rel = resolved.relative_to(root).as_posix()
    return resolved, "" if rel == "." else rel


def resolve_file(root_dir: str, relative: str) -> Path:
    """Resolve a client file path inside ``root_dir`` (same rules as folders)."""
    _check_shape(relative)
    parent, name = os.path.split(relative.strip())
    if not name:
        raise InvalidRequestError("A file path is required.")
    folder, _ = resolve_folder(root_dir, parent)
    try:
        resolved = Path(os.path.realpath(folder / name))
        root = Path(root_dir).expanduser().resolve()
        if root not in resolved.parents:
            raise PathOutsideRootError(
                f"The file {_shown(relative)} is outside the server's root directory."
            )
        if not resolved.is_file():
            raise NotFoundError(
                f"The file {_shown(relative)} does not exist under the server's root."
            )
    except OSError as e:
        raise InvalidRequestError(
            f"The file {_shown(relative)} cannot be used: {e.strerror or e}."
        ) from e
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

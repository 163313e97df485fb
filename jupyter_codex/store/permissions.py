"""Start-up check of the data dir's permissions: secrets must be private to their owner.

The data dir holds the encryption key, the proxy-key secret, the database (sealed
tokens, hashed client keys) and each target's ``auth.json``. A 0755 folder or a 0644
key file (a careless ``cp``, a volume mounted with the wrong umask, a shared home
under JupyterHub) lets other users read them. We warn, naming the exact fix, rather
than silently changing modes an administrator may have chosen on purpose.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

#: Files under the data dir that hold secrets (relative paths; globs allowed).
SECRET_FILES = (
    "secret.key",
    "proxy_keys.secret",
    "codex.db",
    "codex.db-wal",
    "codex.db-shm",
    "targets/*/codex_home/auth.json",
    "terminal_codex_home/auth.json",
)
#: Folders under the data dir that must be private too.
PRIVATE_DIRS = ("", "targets/*/codex_home", "terminal_codex_home")


@dataclass(frozen=True)
class PermissionProblem:
    """One path whose mode or owner lets someone else in."""

    path: Path
    mode: int
    fix: str
    why: str

    def message(self) -> str:
        return (
            f"jupyter-codex: {self.path} {self.why} (mode {self.mode:04o}); "
            f"other users may read your Codex secrets. Fix: {self.fix}"
        )


def check_data_dir(data_dir: str | os.PathLike[str]) -> list[PermissionProblem]:
    """Every problem found under ``data_dir`` (missing paths are fine: created later)."""
    root = Path(data_dir)
    problems: list[PermissionProblem] = []
    uid = os.getuid() if hasattr(os, "getuid") else None
    for pattern in PRIVATE_DIRS:
        for path in _expand(root, pattern):
            problems += _check(path, uid, is_dir=True)
    for pattern in SECRET_FILES:
        for path in _expand(root, pattern):
            problems += _check(path, uid, is_dir=False)
    return problems


def _expand(root: Path, pattern: str) -> list[Path]:
    if not pattern:
        return [root]
    return sorted(root.glob(pattern)) if "*" in pattern else [root / pattern]


def _check(path: Path, uid: int | None, *, is_dir: bool) -> list[PermissionProblem]:
    try:
        st = path.lstat()
    except OSError:
        return []
    mode = stat.S_IMODE(st.st_mode)
    wanted = "700" if is_dir else "600"
    found = []
    if stat.S_ISLNK(st.st_mode):
        return []  # a deliberate symlink (e.g. to a secrets volume): its target is the admin's
    if mode & 0o077:
        kind = "folder" if is_dir else "file"
        found.append(
            PermissionProblem(
                path, mode, f"chmod {wanted} {path}", f"is a {kind} readable by group or others"
            )
        )
    if uid is not None and st.st_uid != uid:
        found.append(
            PermissionProblem(
                path,
                mode,
                f"chown {uid} {path} (or set JUPYTER_CODEX_DATA_DIR to a folder of your own)",
                f"belongs to user id {st.st_uid}, not to this server's user ({uid})",
            )
        )
    return found


__all__ = ["PermissionProblem", "check_data_dir"]

"""Is the state directory safe to trust, and can we write to it?

Everything Argus decides from (backoff, dedup, the orphan counts, the registry) lives in the
state dir, and the cycle appends to and truncates files there as root. A directory that another
user can write to lets that user plant links or forge state, so it is refused outright (exit 2:
the setup is wrong, not the moment). A read-only one (a filesystem remounted read-only, a
directory without write permission) is reported in one line (exit 1) instead of a traceback
from the first write.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

UNSAFE = 2  # exit code: a configuration problem the operator must fix
UNWRITABLE = 1  # exit code: this run could not do its job


class StateDirError(Exception):
    """The state dir cannot be used; ``str()`` is one line for the operator."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def check_state_dir(path: Path, *, write: bool = True) -> None:
    """Raise StateDirError when ``path`` is unsafe (exit 2) or, with ``write``, not writable (exit 1).

    A state dir that does not exist yet is fine: Argus creates it private (0700).
    """
    try:
        info = os.stat(path)  # following a link: a state dir symlinked elsewhere is judged by its target
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StateDirError(f"state dir {path} is not accessible: {exc.strerror or exc}", UNWRITABLE) from None
    problem = unsafe_reason(info)
    if problem:
        raise StateDirError(f"state dir {path} {problem}; refusing to use it", UNSAFE)
    if write and not _writable(path):
        raise StateDirError(f"state dir {path} is not writable ({_why_not_writable(path)}); "
                            "nothing can be recorded", UNWRITABLE)


def unsafe_reason(info: os.stat_result) -> str | None:
    """Why a directory with this ``stat`` must not be trusted, or None."""
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    euid = os.geteuid()
    if info.st_uid not in (euid, 0):
        return f"is owned by uid {info.st_uid}, not by this user (uid {euid}) or root"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        mode = stat.S_IMODE(info.st_mode)
        return f"is writable by group or others (mode {mode:04o}): run chmod go-w on it"
    return None


def _writable(path: Path) -> bool:
    # effective ids: Argus may run setuid or under sudo; access() reports EROFS even for root.
    effective = os.access in os.supports_effective_ids
    return os.access(path, os.W_OK | os.X_OK, effective_ids=effective)


def _why_not_writable(path: Path) -> str:
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "read-only filesystem"
    except OSError:
        pass
    return "permission denied"

"""Is the state directory safe to trust, and can we write to it?

Everything Argus decides from (backoff, dedup, the orphan counts, the registry) lives in the
state dir, and the cycle appends to and truncates files there as root. A directory that another
user can write to lets that user plant links or forge state, so it is refused outright (exit 2:
the setup is wrong, not the moment). A read-only one (a filesystem remounted read-only, a
directory without write permission), one this user cannot read (a root-owned 0700 directory
for a non-root user) and a missing one that cannot be created are reported in one line (exit
1) naming the directory and the likely fix (``fix_hint``) instead of a traceback from the first
read or write.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

UNSAFE = 2  # exit code: a configuration problem the operator must fix
UNWRITABLE = 1  # exit code: this run could not do its job
_READ_ONLY_FS = "read-only filesystem"


class StateDirError(Exception):
    """The state dir cannot be used; ``str()`` is one line for the operator."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def check_state_dir(path: Path, *, write: bool = True) -> None:
    """Raise StateDirError when ``path`` is unsafe (exit 2), cannot be read or, with ``write``, is
    not writable (exit 1).

    A state dir that does not exist yet is fine when it can be created (Argus creates it private,
    0700); for a command that only reads, a missing one simply holds nothing yet.
    """
    try:
        info = os.stat(path)  # following a link: a state dir symlinked elsewhere is judged by its target
    except FileNotFoundError:
        if write:
            _check_creatable(path)
        return
    except OSError as exc:
        raise _inaccessible(path, exc) from None
    problem = unsafe_reason(info)
    if problem:
        raise StateDirError(f"state dir {path} {problem}; refusing to use it", UNSAFE)
    _check_readable(path)
    if write and not _writable(path):
        why = _why_not_writable(path)
        raise StateDirError(f"state dir {path} is not writable ({why}); nothing can be recorded: "
                            f"{fix_hint(errno.EROFS if why == _READ_ONLY_FS else errno.EACCES)}", UNWRITABLE)


def check_state_readable(path: Path) -> None:
    """Raise StateDirError (exit 1) when a command that only reads could not read ``path``: it
    exists but is not a directory, or this user may not list and enter it. Missing is fine (it
    holds nothing yet). Safety is not judged here: reading trusts nothing it finds."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _inaccessible(path, exc) from None
    if not stat.S_ISDIR(info.st_mode):
        raise StateDirError(f"state dir {path} is not a directory: set ARGUS_STATE_DIR to a directory", UNWRITABLE)
    _check_readable(path)


def fix_hint(err: int | None, variable: str | None = "ARGUS_STATE_DIR") -> str:
    """The likely fix for an ``errno`` (permission denied, read-only filesystem) met on a path
    that ``variable`` chooses (None: a path given on the command line)."""
    elsewhere = f"set {variable}" if variable else "use another path"
    if err == errno.EROFS:
        return f"remount it read-write or {elsewhere}"
    if os.geteuid() != 0:
        return f"run as root or {elsewhere}"
    return f"check its owner and mode or {elsewhere}"


def _check_readable(path: Path) -> None:
    effective = os.access in os.supports_effective_ids
    if not os.access(path, os.R_OK | os.X_OK, effective_ids=effective):
        raise StateDirError(f"state dir {path} cannot be read (permission denied): {fix_hint(errno.EACCES)}",
                            UNWRITABLE)


def _inaccessible(path: Path, exc: OSError) -> StateDirError:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = f"{reason}: {fix_hint(exc.errno)}"
    elif exc.errno == errno.ENOTDIR:
        reason = f"{reason}: set ARGUS_STATE_DIR to a directory"
    return StateDirError(f"state dir {path} is not accessible ({reason})", UNWRITABLE)


def _check_creatable(path: Path) -> None:
    """A missing state dir: the nearest existing ancestor must let this user create it."""
    ancestor = Path(os.path.abspath(path)).parent
    while True:
        try:
            info = os.stat(ancestor)
        except FileNotFoundError:
            if ancestor == ancestor.parent:
                return
            ancestor = ancestor.parent
            continue
        except OSError as exc:
            hint = fix_hint(exc.errno) if exc.errno in (errno.EACCES, errno.EPERM) else "set ARGUS_STATE_DIR"
            raise StateDirError(f"state dir {path} does not exist and cannot be created ({ancestor}: "
                                f"{exc.strerror or exc}): {hint}", UNWRITABLE) from None
        break
    if not stat.S_ISDIR(info.st_mode):
        raise StateDirError(f"state dir {path} cannot be created ({ancestor} is not a directory): "
                            "set ARGUS_STATE_DIR", UNWRITABLE)
    if not _writable(ancestor):
        why = _why_not_writable(ancestor)
        raise StateDirError(f"state dir {path} does not exist and cannot be created ({ancestor} is not "
                            f"writable: {why}): {fix_hint(errno.EROFS if why == _READ_ONLY_FS else errno.EACCES)}",
                            UNWRITABLE)


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
            return _READ_ONLY_FS
    except OSError:
        pass
    return "permission denied"

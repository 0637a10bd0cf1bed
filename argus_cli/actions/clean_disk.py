"""clean_disk: remove old entries from a hard-coded safelist of temp, cache and archive paths.

The walk never trusts a path twice. Each directory is opened relative to its parent's file
descriptor with O_NOFOLLOW and checked to be the directory that was just lstat'ed (same device
and inode), and everything inside is removed relative to that descriptor. A directory swapped
for a symlink mid-walk therefore fails to open (ELOOP/ENOTDIR) instead of being followed, a
symlink is unlinked as a link, and nothing on another filesystem is entered.

An entry is old when the newest of its atime, mtime and ctime is past the cutoff, as
systemd-tmpfiles ages them: an extracted tarball keeps its archive mtimes but gets a new ctime, and
a file read yesterday has a new atime, so neither looks abandoned. A directory is judged by its
times from before the walk, which reads it without touching its atime; removing entries inside it
gives it a new mtime and ctime, so a directory a clean emptied ages from that clean. Entries in use
stay even when old: anything a live process holds a lock on (/proc/locks) and X display lock files.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft
from argus_cli.actions.guardrails import CleanDisk

TMP_ROOTS = ("tmp", "var/tmp")
CACHE_DIRS = ("pip", "npm", "yarn", "go-build")
LOG_ARCHIVE_DIR = "var/log"
LOG_ARCHIVE_GLOB = "*.log.[0-9].gz"
OWN_ROTATED_LOGS = ("argus.log.1", "argus.log.2", "argus.log.3")
# Left alone at the top of tmp roots: live sockets, per-service private tmp dirs and X display
# locks (the X server writes .X0-lock once at start and never touches it again, so it looks old).
KEEP_IN_TMP = ("systemd-private-*", "snap-private-tmp", "tmux-*", ".X11-unix", ".ICE-unix",
               ".XIM-unix", ".font-unix", ".Test-unix", ".X*-lock")
MAX_DEPTH = 64
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
PROC_LOCKS = "/proc/locks"


@dataclass
class Tally:
    removed: int = 0
    bytes_reclaimed: int = 0
    errors: int = 0
    roots: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass
class Walk:
    cutoff: float  # entries whose newest of atime, mtime and ctime is before this epoch are old
    dry: bool
    keep: frozenset[tuple[int, int]]  # (dev, ino) of Argus's own state dirs
    hook: Callable[[str], None] | None
    locked: frozenset[int] = frozenset()  # inodes a live process holds a lock on
    tally: Tally = field(default_factory=Tally)


@dataclass(frozen=True)
class Frame:
    """An open directory of the walk: its fd, the root's device, its path (for the hook), its depth,
    and the root's mount id (a bind mount of the same filesystem has the same device, not mount)."""

    fd: int
    dev: int
    rel: str
    depth: int
    mnt: int | None = None


def clean(host_root: str, home: str, log_dir: Path, walk: Walk) -> Tally:
    """Clean every safelist root; a root that is missing or not a plain directory is skipped."""
    tally = walk.tally
    rel_roots = [*TMP_ROOTS, *(f"{home.strip('/')}/.cache/{name}" for name in CACHE_DIRS)]
    for rel in rel_roots:
        with _opened(host_root, rel, tally) as fd:
            if fd is not None:
                _clean_tree(Frame(fd, os.fstat(fd).st_dev, rel, 0, _mount_id(fd)), walk, top=rel in TMP_ROOTS)
    with _opened(host_root, LOG_ARCHIVE_DIR, tally) as fd:
        if fd is not None:
            _clean_names(fd, lambda n: fnmatch.fnmatchcase(n, LOG_ARCHIVE_GLOB), walk)
    with _opened(str(log_dir), "", tally) as fd:
        if fd is not None:
            _clean_names(fd, lambda n: n in OWN_ROTATED_LOGS, walk)
    return tally


@contextmanager
def _opened(base: str, rel: str, tally: Tally) -> Iterator[int | None]:
    """``base/rel`` opened component by component without following any symlink in ``rel``."""
    shown = os.path.join(base, rel) if rel else base
    fd: int | None = None
    try:
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for part in [p for p in rel.split("/") if p]:
            if part in (".", ".."):
                raise NotADirectoryError(shown)
            parent, fd = fd, os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(parent)
    except OSError:
        if fd is not None:
            os.close(fd)
        tally.missing.append(shown)
        yield None
        return
    tally.roots.append(shown)
    try:
        yield fd
    finally:
        os.close(fd)


def _clean_tree(frame: Frame, walk: Walk, top: bool = False) -> bool:
    """Remove old entries under ``frame``; True when the directory is (or would be) left empty."""
    try:
        with os.scandir(frame.fd) as it:
            names = [entry.name for entry in it]
    except OSError:
        walk.tally.errors += 1
        return False
    empty = True
    for name in names:
        if top and any(fnmatch.fnmatchcase(name, pat) for pat in KEEP_IN_TMP):
            empty = False
            continue
        empty = _clean_entry(frame, name, walk) and empty
    return empty


def _clean_entry(frame: Frame, name: str, walk: Walk) -> bool:
    try:
        st = os.stat(name, dir_fd=frame.fd, follow_symlinks=False)
    except FileNotFoundError:
        return True
    except OSError:
        walk.tally.errors += 1
        return False
    if stat.S_ISDIR(st.st_mode):
        return _clean_subdir(frame, name, st, walk)
    if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):  # a link is removed as a link
        return _removable(st, walk) and _unlink(frame.fd, name, st, walk)
    return False  # sockets, fifos, devices stay: something may be listening on them


def _removable(st: os.stat_result, walk: Walk) -> bool:
    """Old by all three clocks and not locked by a live process."""
    return max(st.st_atime, st.st_mtime, st.st_ctime) < walk.cutoff and st.st_ino not in walk.locked


def _clean_subdir(frame: Frame, name: str, st: os.stat_result, walk: Walk) -> bool:
    if (st.st_dev != frame.dev or frame.depth >= MAX_DEPTH or (st.st_dev, st.st_ino) in walk.keep
            or st.st_ino in walk.locked):
        # another filesystem, too deep, Argus's own state, or locked: in use (systemd-tmpfiles
        # keeps out of a flock'ed directory too), so not even entered
        return False
    rel = f"{frame.rel}/{name}"
    if walk.hook is not None:
        walk.hook(rel)
    try:
        sub = _open_dir(name, frame.fd)
    except OSError:
        return False  # swapped for a symlink or a file since the lstat: never followed
    try:
        if not _same_dir(sub, st, frame.mnt):
            return False  # a different directory took its place, or a mount point: never entered
        empty = _clean_tree(Frame(sub, frame.dev, rel, frame.depth + 1, frame.mnt), walk)
    finally:
        os.close(sub)
    if not (empty and _removable(st, walk)):  # its times from before the walk, which changed them
        return False
    if not walk.dry:
        try:
            os.rmdir(name, dir_fd=frame.fd)  # only ever removes an empty directory, never a link's target
        except OSError:
            return False
    walk.tally.removed += 1
    return True


def _open_dir(name: str, dfd: int) -> int:
    """Open a subdirectory without touching its atime: reading it would otherwise make it look used,
    and a directory listed by every clean would never age. O_NOATIME needs the owner or CAP_FOWNER;
    without them the walk still runs, and the directory only ages from the last clean that read it."""
    try:
        return os.open(name, _DIR_FLAGS | os.O_NOATIME, dir_fd=dfd)
    except PermissionError:
        return os.open(name, _DIR_FLAGS, dir_fd=dfd)


def _same_dir(fd: int, st: os.stat_result, mnt: int | None) -> bool:
    """``fd`` is the directory lstat'ed as ``st`` and on the walk's mount (a bind mount of the
    same filesystem has the same st_dev; only its mount id tells it apart)."""
    now_st = os.fstat(fd)
    return (now_st.st_dev, now_st.st_ino) == (st.st_dev, st.st_ino) and _mount_id(fd) == mnt


def _mount_id(fd: int) -> int | None:
    """The mount an open directory is on, from /proc (None without /proc: st_dev is all we have)."""
    try:
        with open(f"/proc/self/fdinfo/{fd}", "rb") as info:
            for line in info:
                if line.startswith(b"mnt_id:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _unlink(dfd: int, name: str, st: os.stat_result, walk: Walk) -> bool:
    if not walk.dry:
        try:
            os.unlink(name, dir_fd=dfd)
        except FileNotFoundError:
            return True
        except OSError:
            walk.tally.errors += 1
            return False
    walk.tally.removed += 1
    walk.tally.bytes_reclaimed += st.st_blocks * 512 if st.st_nlink <= 1 else 0
    return True


def _clean_names(dfd: int, wanted: Callable[[str], bool], walk: Walk) -> None:
    """Old files (or links) directly in ``dfd`` whose name ``wanted`` accepts; no recursion."""
    with os.scandir(dfd) as it:
        names = [entry.name for entry in it if wanted(entry.name)]
    for name in names:
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except OSError:
            continue
        if (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)) and _removable(st, walk):
            _unlink(dfd, name, st, walk)


def locked_inodes(path: str = PROC_LOCKS) -> frozenset[int]:
    """Inodes with a POSIX, flock or OFD lock (or a lease) held or waited for, from /proc/locks.

    One small read per clean, and exact for the convention daemons use to say "in use"; the kernel
    drops a lock when its holder dies, so every entry is a live process's. Scanning /proc/*/fd
    instead would catch files merely held open, but costs a readdir per process and a stat or
    readlink per descriptor, a stat can hang on a dead NFS mount, and paths differ across mount
    namespaces; and removing the name of an open file does not break its holder, who keeps the
    inode. Only the inode number is compared: the device in /proc/locks is the superblock's, which
    is not st_dev on btrfs subvolumes or overlayfs, and a stray match only keeps a file. The kernel
    lists only locks of processes in the reader's PID namespace: Argus cleaning a host root from a
    container needs the host's PID namespace to see them."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return frozenset()  # no /proc: the clocks alone decide
    inodes = set()
    for token in text.split():  # "1: FLOCK ADVISORY WRITE 4924 fe:00:2147559 0 EOF", "->" for waiters
        parts = token.split(":")
        if len(parts) == 3 and parts[2].isdigit() and all(_is_hex(p) for p in parts[:2]):
            inodes.add(int(parts[2]))
    return frozenset(inodes)


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)


def _own_dirs(ctx: ActionContext) -> frozenset[tuple[int, int]]:
    keep = set()
    for path in (ctx.config.state_dir, ctx.config.log_dir):
        try:
            st = os.stat(path)
        except OSError:
            continue
        keep.add((st.st_dev, st.st_ino))
    return frozenset(keep)


def run(ctx: ActionContext, request: CleanDisk) -> Outcome:
    dry = ctx.dry_run or ctx.config.disk_clean_dry_run
    cutoff = ctx.now - ctx.config.disk_clean_max_age_days * 86400
    home = ctx.tuning.home or os.environ.get("HOME") or str(Path.home())
    walk = Walk(cutoff, dry, _own_dirs(ctx), ctx.tuning.before_descend, locked_inodes())
    tally = clean(ctx.config.host_root or "/", home, ctx.config.log_dir, walk)
    verb = "would remove" if dry else "removed"
    detail = (f"{verb} {tally.removed} entries, {tally.bytes_reclaimed} bytes "
              f"({tally.bytes_reclaimed / 1048576:.1f} MB) from {len(tally.roots)} safelist roots")
    if tally.errors:
        detail += f"; {tally.errors} entries could not be removed"
    extra = {"removed": tally.removed, "bytes_reclaimed": tally.bytes_reclaimed, "dry_run": dry,
             "roots": tally.roots, "errors": tally.errors}
    if ctx.dry_run:
        return Outcome("skipped", f"dry run: {detail}", None, extra, would=tally.removed > 0)
    draft = ProblemDraft("disk", "warning", request.reason, "clean_disk:safelist", "success")
    return Outcome("success", detail, draft, extra)

"""Atomic JSON state files and append-only JSONL files (ARCHITECTURE.md §4).

JSON state is written to a temp file, fsynced and renamed over the target, so a crash leaves
either the old or the new file. A file that does not decode into its type (``read_state``) is
unusable: reported once and read as missing. Only a process that owns the state
(``owning_state``: the cycle, ``argus act``) moves it aside as ``NAME.corrupt-<epoch>`` (kept,
never deleted); every other command leaves it where it is, for the owner. JSONL files get one
whole line per ``write`` on an ``O_APPEND`` descriptor under ``flock``, so concurrent writers
never interleave inside a line; readers skip a torn or garbage line and count it, and never hold
more than ``MAX_LINE_BYTES`` of one line.

State files are opened with ``O_NOFOLLOW``: a symlink, a directory or any other non-regular file
where a state file belongs is moved aside like a corrupt file by the owner or by any writer (a
lock refuses a symlink instead), so nothing is ever read or appended through a link planted in
the state dir.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson

from argus_cli.model import scrub_surrogates

T = TypeVar("T")
Reporter = Callable[[str], None]
# A JSONL record's shape check: called with the parsed line, raises ValueError saying what is wrong.
Validator = Callable[[Any], None]
# No JSONL line Argus writes comes near this; a longer one is garbage (a crash, a stray write of
# NULs) and is skipped as it streams by, never held whole in memory.
MAX_LINE_BYTES = 1 << 20
_READ_CHUNK = 65536
# O_NONBLOCK: opening a FIFO planted where a state file belongs must not hang the cycle.
# Only a directory named like a state file is ever renamed: a configured path that points at a
# real directory by mistake (ARGUS_PROBLEMS_FILE=/var/log) is an error, never moved.
_STATE_SUFFIXES = (".json", ".jsonl", ".lock", ".md")
_SAFE_OPEN = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
# Directories Argus creates hold the registry, the outbox and logs, which describe the host and
# its alerts: they are not for other users to read.
PRIVATE_DIR_MODE = 0o700


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def dumps(value: Any, option: int = 0) -> bytes:
    """JSON bytes; non-JSON values (paths, sets) become strings rather than crash.

    Text from outside (an LLM answer, a process name) can hold lone UTF-16 surrogates, which no
    UTF-8 file can carry; they become "?" so the record is still written and still readable.
    """
    try:
        return orjson.dumps(value, default=str, option=option)
    except orjson.JSONEncodeError:
        return orjson.dumps(scrub_surrogates(value), default=str, option=option)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644, report: Reporter = to_stderr) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # name the file being written, not a temp name the operator never chose
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        _replace(tmp, path, report)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _replace(tmp: str, path: Path, report: Reporter) -> None:
    """Rename over ``path``. A symlink there is replaced, not followed; a directory there would
    refuse every write for ever, so it is moved aside first."""
    try:
        os.replace(tmp, path)
    except IsADirectoryError:
        if not set_aside(path, "a directory", report):
            raise
        os.replace(tmp, path)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse fsync on a directory; the rename stands
        fsync_path(directory)


def fsync_path(path: Path) -> None:
    """Flush ``path`` (a file or a directory) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stored_number(value: Any, limit: float = 1e11) -> float | None:
    """A count or epoch read back from a state file, or None when it holds anything else.

    A hand edit or another version can leave a string, a list or an absurd number in a file that
    parses; one such value must not crash, for ever, the action that reads it.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if 0 <= value < limit else None


# --- shapes of JSONL records, for ``newest_valid`` ---------------------------------------------

OPTIONAL_NUMBER: tuple[type, ...] = (int, float, type(None))
OPTIONAL_STR: tuple[type, ...] = (str, type(None))


def check_fields(value: Any, expected: dict[str, tuple[type, ...]], where: str = "") -> None:
    """Raise ValueError unless ``value`` is an object whose fields, where present, have the
    expected types. Missing fields are fine (an older version wrote the file); ``bool`` never
    passes for a number."""
    label = f"{where} " if where else ""
    if not isinstance(value, dict):
        raise ValueError(f"{label}is {type(value).__name__}, expected an object".strip())
    for name, types in expected.items():
        if name in value and not _fits(value[name], types):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ValueError(f"{label}{name} is {type(value[name]).__name__}, expected {wanted}")


def _fits(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


# --- opening state files: regular files only, never through a symlink -----------------------

class NotRegularFile(OSError):
    """A symlink, directory, FIFO ... sits where a state file belongs."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(errno.EINVAL, f"it is {kind}, not a regular file: refusing to use it", str(path))
        self.kind = kind


def _kind(path: Path) -> str:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "not a regular file"
    if stat.S_ISLNK(mode):
        return "a symlink"
    return "a directory" if stat.S_ISDIR(mode) else "a special file"


def _open_regular(path: Path, flags: int, mode: int) -> int:
    try:
        fd = os.open(path, flags | _SAFE_OPEN, mode)
    except OSError as exc:
        # ELOOP: O_NOFOLLOW met a symlink; EISDIR: a directory opened for writing; ENXIO: a FIFO
        # with no reader opened for writing.
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise NotRegularFile(path, _kind(path)) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegularFile(path, _kind(path))
    return fd


# --- who may move an unusable file aside: one decision per process ------------------------

class _Owner:
    active = False


@contextlib.contextmanager
def owning_state() -> Iterator[None]:
    """Run the block as the owner of the state (ARCHITECTURE.md §4): the cycle and ``argus act``.

    An owner moves an unusable file it reads aside, so the next run starts clean; every other
    command only reads: it reports the file and leaves it for the owner, byte for byte.
    """
    before, _Owner.active = _Owner.active, True
    try:
        yield
    finally:
        _Owner.active = before


def owns_state() -> bool:
    return _Owner.active


def open_state_file(path: Path, report: Reporter = to_stderr) -> int | None:
    """A read-only descriptor on the regular file at ``path``, or None when there is none.

    Opened without following a symlink; whatever non-regular thing sits there (a symlink, a
    directory, a FIFO) is moved aside by the owner and reported, then read as a missing file.
    In a process that only reads, or when it cannot be moved, NotRegularFile is raised.
    """
    try:
        return _open_regular(path, os.O_RDONLY, 0)
    except FileNotFoundError:
        return None
    except NotRegularFile as exc:
        if not owns_state() or not set_aside(path, exc.kind, report):
            raise
    return None


def create_state_file(path: Path, flags: int, mode: int = 0o644, report: Reporter = to_stderr, *,
                      refuse_symlink: bool = False) -> int:
    """A descriptor on the regular file at ``path``, created when missing (``O_CREAT`` is added).

    Never through a symlink: a non-regular thing in its place is moved aside (reported) and a
    fresh file created. With ``refuse_symlink`` a symlink raises NotRegularFile instead: a lock
    should not guess what a planted link was for.
    """
    flags |= os.O_CREAT
    try:
        return _open_regular(path, flags, mode)
    except NotRegularFile as exc:
        if (refuse_symlink and exc.kind == "a symlink") or not set_aside(path, exc.kind, report):
            raise
    return _open_regular(path, flags, mode)


def set_aside(path: Path, kind: str, report: Reporter = to_stderr) -> bool:
    """Move the non-regular ``path`` aside and say so; False (also said) when that fails or
    when it is a directory not named like a state file."""
    if kind == "a directory" and not path.name.endswith(_STATE_SUFFIXES):
        return False
    try:
        aside = move_aside(path)
    except OSError as exc:
        report(f"argus: {path} is {kind}, not a regular file, and cannot be moved aside: "
               f"{exc.strerror or exc}")
        return False
    report(f"argus: {path} is {kind}, not a regular file; moved aside to {aside.name}")
    return True


def read_regular(path: Path) -> bytes:
    """The bytes of the regular file ``path``; raises FileNotFoundError, NotRegularFile (a
    symlink, a directory...) or another OSError. Changes nothing: for read-only reporters."""
    fd = _open_regular(path, os.O_RDONLY, 0)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def atomic_write_json(path: Path, value: Any, mode: int = 0o644) -> None:
    atomic_write_bytes(path, dumps(value, orjson.OPT_INDENT_2) + b"\n", mode)


def read_state(path: Path, decode: Callable[[bytes], T], report: Reporter = to_stderr) -> T | None:
    """``decode`` of the file's bytes, or None when it is missing or unusable.

    Unusable means: ``decode`` raises ValueError (not JSON, or not of the file's type: msgspec's
    errors are ValueErrors naming the bad field) or RecursionError (nested a thousand deep), or it
    is not a regular file at all. It is
    reported once; the owner of the state moves it aside as ``NAME.corrupt-<epoch>``, so one bad
    value never fails every cycle for ever; a command that only reads leaves it where it is.
    """
    try:
        fd = open_state_file(path, report)
    except NotRegularFile as exc:
        report(f"argus: {path} is {exc.kind}, not a regular file; left as it is")
        return None
    except PermissionError as exc:  # another user's file (a cycle run as root): said once, with the fix
        report(f"argus: {path} cannot be read ({exc.strerror}): run as root or set ARGUS_STATE_DIR; "
               "read as missing")
        return None
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read()
    try:
        return decode(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past what the decoder follows
        if not owns_state():
            report(f"argus: {path} is unusable ({exc}); left as it is")
            return None
        aside = move_aside(path)
        report(f"argus: {path} is corrupt ({exc}); moved aside to {aside.name}, starting empty")
        return None


def move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    n = 1
    while os.path.lexists(aside):
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}-{n}")
        n += 1
    os.replace(path, aside)
    return aside


def append_jsonl(path: Path, record: Any, mode: int = 0o644, report: Reporter = to_stderr) -> None:
    """Append one record as one line with a single write on an O_APPEND descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    line = dumps(record) + b"\n"
    fd = create_state_file(path, os.O_RDWR | os.O_APPEND, mode, report)  # RDWR: to peek at the tail
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # so healing a torn tail cannot race another writer
        _heal_torn_tail(fd)
        written = os.write(fd, line)
        if written != len(line):  # a short write would tear the line; say so loudly
            raise OSError(f"short write to {path}: {written} of {len(line)} bytes")
    finally:
        os.close(fd)


def _heal_torn_tail(fd: int) -> None:
    """If a crashed writer left a line without its newline, end it so ours starts clean."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")


class LineStats:
    """Counts what a JSONL reader had to skip."""

    def __init__(self) -> None:
        self.malformed = 0
        self.lines = 0


def accepts(check: Validator, record: object) -> bool:
    """Whether the shape check ``check`` passes ``record`` (it raises ValueError when not)."""
    try:
        check(record)
    except ValueError:
        return False
    return True


def iter_jsonl(path: Path, stats: LineStats | None = None, start: int = 0,
               report: Reporter = to_stderr) -> Iterator[dict[str, Any]]:
    """Stream JSON objects from ``path`` (one pass, constant memory); skip bad lines.

    A line over ``MAX_LINE_BYTES`` is counted malformed and skipped without being held. A
    non-regular file in its place is moved aside by the owner, else raised (``open_state_file``).
    """
    stats = stats if stats is not None else LineStats()
    with _reading(path, start, report) as fd:
        if fd is not None:
            yield from _records(_lines_forward(fd), stats)


@contextlib.contextmanager
def _reading(path: Path, start: int, report: Reporter) -> Iterator[int | None]:
    """A descriptor on the regular file at ``path`` at offset ``start``, closed after; None: no file."""
    fd = open_state_file(path, report)
    try:
        if fd is not None and start:
            os.lseek(fd, start, os.SEEK_SET)
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


def _records(lines: Iterator[bytes | None], stats: LineStats) -> Iterator[dict[str, Any]]:
    """The JSON objects among ``lines`` (None: a line too long to keep), counting the rest."""
    for line in lines:
        if line is not None and not line.strip():
            continue
        stats.lines += 1
        if line is None:
            stats.malformed += 1
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            stats.malformed += 1
            continue
        if isinstance(record, dict):
            yield record
        else:
            stats.malformed += 1


def _lines_forward(fd: int, chunk: int = _READ_CHUNK) -> Iterator[bytes | None]:
    """The lines from ``fd``'s offset on, without newlines; None for one over MAX_LINE_BYTES.

    The start of a line that runs past a chunk is kept as a list of pieces joined once, so the
    cost is linear in the bytes read; once the pieces pass the bound they are dropped and the
    rest of that line is skipped as it streams by.
    """
    head: list[bytes] = []
    held, too_long = 0, False
    while data := os.read(fd, chunk):
        parts = data.split(b"\n")
        if len(parts) > 1:
            first = parts[0]
            too_long = too_long or held + len(first) > MAX_LINE_BYTES
            yield None if too_long else b"".join([*head, first])
            head, held, too_long = [], 0, False
            yield from parts[1:-1]  # whole lines inside one chunk: shorter than the bound
        rest = parts[-1]
        if rest and not too_long:
            held += len(rest)
            too_long = held > MAX_LINE_BYTES
            if too_long:
                head = []  # drop what was held: the rest of this line streams by unkept
            else:
                head.append(rest)
    if too_long:
        yield None
    elif head:
        yield b"".join(head)


def blocks_at(fd: int, stats: LineStats, start: int = 0) -> Iterator[bytes]:
    """The file behind ``fd`` from ``start`` (a line's start) as blocks of whole lines, for a
    caller that decodes many lines in one call (msgspec's ``decode_lines``); a line over
    ``MAX_LINE_BYTES`` is left out and counted malformed (and in ``stats.lines``), never held.
    The caller counts the lines it gets. (Read, not mapped: a disk error must be an OSError to
    report, not a SIGBUS.)"""
    os.lseek(fd, start, os.SEEK_SET)
    yield from _blocks_forward(fd, stats)


def _blocks_forward(fd: int, stats: LineStats, chunk: int = 1 << 18) -> Iterator[bytes]:
    carry = b""  # the start of a line that runs past what was read so far
    skipping = False  # inside a line already counted as too long
    while data := os.read(fd, chunk):
        if skipping:
            newline = data.find(b"\n")
            if newline < 0:
                continue
            data, skipping = data[newline + 1:], False
        cut = data.rfind(b"\n")
        if cut < 0:
            carry += data
            if len(carry) > MAX_LINE_BYTES:
                stats.lines += 1
                stats.malformed += 1
                carry, skipping = b"", True
            continue
        if carry and len(carry) + data.find(b"\n") > MAX_LINE_BYTES:  # the carried line ends here, too long
            stats.lines += 1
            stats.malformed += 1
            data, carry = data[data.find(b"\n") + 1:], b""
            cut = data.rfind(b"\n")
        block, carry = carry + data[:cut + 1], data[cut + 1:]
        if block:
            yield block
    if carry and not skipping:
        yield carry


def iter_jsonl_backwards(path: Path, chunk: int = 65536, stats: LineStats | None = None,
                         report: Reporter = to_stderr) -> Iterator[dict[str, Any]]:
    """JSON objects from the last line to the first; malformed lines are skipped (and counted).

    Reads ``chunk`` bytes at a time from the end, so a caller that stops early (a window, a
    tail) never pays for the rest of the file. A non-regular file in a process that only reads
    (``argus last``, ``argus decide``) is reported and read as empty, like a JSON state file.
    """
    stats = stats if stats is not None else LineStats()
    try:
        fd = open_state_file(path, report)
    except NotRegularFile as exc:
        if owns_state():
            raise
        report(f"argus: {path} is {exc.kind}, not a regular file; left as it is")
        return
    if fd is None:
        return
    try:
        yield from _records(_lines_backwards(fd, min(chunk, MAX_LINE_BYTES)), stats)
    finally:
        os.close(fd)


def _lines_backwards(fd: int, chunk: int) -> Iterator[bytes | None]:
    """The lines of ``fd`` from the last to the first; None for one over MAX_LINE_BYTES.

    The mirror of ``_lines_forward``: the end of a line whose start lies in an earlier chunk is
    kept as pieces (latest first) and joined once, or dropped once it passes the bound.
    """
    pos = os.fstat(fd).st_size
    tail: list[bytes] = []
    held, too_long = 0, False
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        parts = os.pread(fd, step, pos).split(b"\n")
        if len(parts) > 1:
            last = parts[-1]
            too_long = too_long or held + len(last) > MAX_LINE_BYTES
            yield None if too_long else b"".join([last, *reversed(tail)])
            tail, held, too_long = [], 0, False
            yield from reversed(parts[1:-1])
        first = parts[0]  # may continue in the previous chunk
        if first and not too_long:
            held += len(first)
            too_long = held > MAX_LINE_BYTES
            if too_long:
                tail = []
            else:
                tail.append(first)
    if too_long:
        yield None
    elif tail:
        yield b"".join(reversed(tail))

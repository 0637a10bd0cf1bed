"""Never blind, never silent, item 9: permissions.

Run as a non-root user (uid 65534 through ``setpriv``) against state it may not use, every
command says in one line on stderr what it could not open and the likely fix, and exits 1 (or
its documented code); no traceback reaches the operator. Four kinds of state: a root-owned
0700 state dir (the server's /var/lib/argus met by a user), unreadable files (0000) in a dir the
user owns, a read-only dir, and a missing state dir that cannot be created.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from argus_cli.cli.common import os_error_line, with_access_hint
from argus_cli.state.directory import StateDirError, check_state_dir, check_state_readable

REPO = Path(__file__).resolve().parent.parent
NOBODY = 65534
HINT = "run as root or set ARGUS_STATE_DIR"
DECISION = json.dumps({"assessment": "t", "actions": [  # act --dry-run reads dedup and restart backoff
    {"type": "alert", "severity": "warning", "message": "disk filling"},
    {"type": "restart_service", "target": "web.service", "reason": "down"},
]})
COMMANDS: list[tuple[str, ...]] = [
    ("cycle",), ("cycle", "--dry-run"), ("collect",), ("decide",), ("act", "--dry-run"),
    ("last",), ("last", "--json"), ("last", "--llm"), ("stats",), ("patterns", "analyze"),
    ("patterns", "detect"), ("relay-summary",), ("doctor",), ("report", "--html", "-"),
]
IDS = [" ".join(c) for c in COMMANDS]
# The state files the commands read, made unreadable (0000) in the "unreadable" case.
STATE_FILES = ("cycles.jsonl", "cycle-state.json", "last_decision.json", "llm.jsonl", "problems.jsonl",
               "incidents.json", "incidents.jsonl", "cpu-times.json", "dedup.json", "restart-backoff.json",
               "prescreen.json", "orphans.json", "outbox.jsonl", "pattern-detect-state.json")


class Nobody:
    """Runs ``python -m argus_cli`` as uid/gid 65534 with no supplementary groups."""

    def __init__(self, base: Path, python: str) -> None:
        self.base, self.python = base, python

    def env(self, state: Path) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin", "HOME": str(self.base / "home"), "LANG": "C.UTF-8", "NO_COLOR": "1",
            "PYTHONPATH": _pythonpath(), "PYTHONDONTWRITEBYTECODE": "1",
            "ARGUS_ENV_FILE": str(self.base / "empty.env"), "ARGUS_STATE_DIR": str(state),
            "ARGUS_HOST_ROOT": str(self.base / "host"), "ARGUS_BEADS_WORKDIR": str(self.base / "home"),
            "ARGUS_DECIDER": "rules", "ARGUS_ALLOWED_SERVICES": "web.service",
        }

    def run(self, *args: str, state: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             self.python, "-m", "argus_cli", *args],
            env=self.env(state), input=stdin, capture_output=True, text=True, timeout=120, check=False,
            cwd=self.base)


def _pythonpath() -> str:
    return os.pathsep.join([str(REPO), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])


def _reachable_by_others(executable: Path) -> bool:
    """Can any user run this interpreter? (A venv's python is often a link into root's 0700 home.)"""
    real = Path(os.path.realpath(executable))
    try:
        return all(os.stat(p).st_mode & 0o001 for p in (real, *real.parents))
    except OSError:
        return False


def _probe(python: str, base: Path) -> str | None:
    """None when uid 65534 can import the CLI with ``python``; else why not."""
    try:
        proc = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             python, "-c", "import argus_cli.cli.app, msgspec, orjson, rich"],
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": _pythonpath(), "PYTHONDONTWRITEBYTECODE": "1"},
            capture_output=True, text=True, timeout=60, check=False, cwd=base)
    except OSError as exc:
        return f"{python}: {exc}"
    if proc.returncode == 0:
        return None
    lines = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])
    return f"{python}: {lines[-1]}"


@pytest.fixture(scope="module")
def nobody() -> Iterator[Nobody]:
    """A non-root runner, or a skip saying why there cannot be one here.

    The venv's interpreter may be a link into a home directory uid 65534 cannot enter (pyenv under
    /root): then a system python of the same version runs the venv's packages (on PYTHONPATH).
    """
    if os.geteuid() != 0:
        pytest.skip("needs root, to run commands as uid 65534 and own the state they cannot use")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    base = Path(tempfile.mkdtemp(prefix="argus-perm-", dir="/tmp"))
    try:
        base.chmod(0o755)  # uid 65534 must reach the state dirs under it
        (base / "empty.env").write_text("")
        (base / "empty.env").chmod(0o644)
        for name in ("home", "host"):
            (base / name).mkdir(mode=0o755)
            os.chown(base / name, NOBODY, NOBODY)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        own = [sys.executable] if _reachable_by_others(Path(sys.executable)) else []
        candidates = dict.fromkeys(p for p in (*own, f"/usr/bin/{version}", shutil.which(version)) if p)
        reasons = []
        for python in candidates:
            reason = _probe(python, base)
            if reason is None:
                yield Nobody(base, python)
                return
            reasons.append(reason)
        pytest.skip(f"uid {NOBODY} cannot run the CLI with any {version} here (the venv's interpreter or "
                    f"site-packages are not readable by others): {'; '.join(reasons)}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _fresh(nobody: Nobody, name: str) -> Path:
    """A new case directory under the runner's base, reachable by uid 65534."""
    case = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=nobody.base))
    case.chmod(0o755)
    return case


@pytest.fixture
def root_owned_state(nobody: Nobody) -> Path:
    """The server's state dir as a user meets it: root's, 0700, with an earlier cycle's files."""
    state = _fresh(nobody, "root-owned") / "state"
    state.mkdir(mode=0o700)
    for name in STATE_FILES:
        (state / name).write_text("")
    (state / "cycle.lock").write_text("1\n")
    return state


@pytest.fixture
def unreadable_state(nobody: Nobody) -> Path:
    """The user's own state dir, in which every state file is mode 0000."""
    state = _fresh(nobody, "unreadable") / "state"
    state.mkdir(mode=0o700)
    for name in (*STATE_FILES, "cycle.lock"):
        path = state / name
        path.write_text("")
        os.chown(path, NOBODY, NOBODY)
        path.chmod(0)
    os.chown(state, NOBODY, NOBODY)
    return state


@pytest.fixture
def read_only_state(nobody: Nobody) -> Path:
    """The user's own state dir without write permission (0500), holding readable state."""
    state = _fresh(nobody, "read-only") / "state"
    state.mkdir(mode=0o700)
    (state / "cycles.jsonl").write_text('{"ts": "2026-02-20T12:00:00Z", "status": "ok"}\n')
    for path in (state, *state.iterdir()):
        os.chown(path, NOBODY, NOBODY)
    state.chmod(0o500)
    return state


@pytest.fixture
def uncreatable_state(nobody: Nobody) -> Path:
    """A state dir that does not exist, under a root-owned 0755 dir where the user may not create it."""
    return _fresh(nobody, "missing") / "missing-parent" / "state"


def _assert_one_clear_line(proc: subprocess.CompletedProcess[str], command: tuple[str, ...],
                           *paths: Path, hint: str = HINT) -> None:
    """No traceback, exit 1, one stderr line naming one of ``paths`` (or a file in it) and ``hint``."""
    said = _said(proc, command)
    assert "Traceback" not in proc.stderr + proc.stdout, said
    assert proc.returncode == 1, said
    if command == ("doctor",):  # doctor reports on stdout: its FAIL line for the state dir
        lines = [line for line in proc.stdout.splitlines() if line.startswith("FAIL") and "state dir" in line]
    else:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, said
    assert any(str(path) in lines[0] for path in paths) and hint in lines[0], said


def _assert_fine_or_nothing_yet(proc: subprocess.CompletedProcess[str], command: tuple[str, ...]) -> None:
    """A command that had nothing to fail on: exit 0, or its documented exit 1 with one line
    (``argus last``: no cycle recorded yet)."""
    said = _said(proc, command)
    assert "Traceback" not in proc.stderr + proc.stdout, said
    assert proc.returncode in (0, 1), said
    if proc.returncode == 1 and command != ("doctor",):
        assert len(proc.stderr.strip().splitlines()) == 1 and "recorded yet" in proc.stderr, said


def _said(proc: subprocess.CompletedProcess[str], command: tuple[str, ...]) -> str:
    return (f"argus {' '.join(command)}: exit {proc.returncode}\nstderr:\n{proc.stderr}\n"
            f"stdout:\n{proc.stdout[:2000]}")


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_a_root_owned_state_dir_is_one_line_with_the_fix(nobody: Nobody, root_owned_state: Path,
                                                         command: tuple[str, ...]) -> None:
    proc = nobody.run(*command, state=root_owned_state, stdin=DECISION)
    _assert_one_clear_line(proc, command, root_owned_state)


def test_help_and_usage_errors_never_depend_on_the_state_dir(nobody: Nobody, root_owned_state: Path) -> None:
    helped = nobody.run("patterns", "analyze", "--help", state=root_owned_state)
    assert helped.returncode == 0 and "Usage" in helped.stdout, helped.stderr
    misused = nobody.run("last", "--no-such-option", state=root_owned_state)
    assert misused.returncode == 2 and "No such option" in misused.stderr, misused.stderr


def test_status_on_a_root_owned_state_dir_is_one_line_with_the_fix(nobody: Nobody, root_owned_state: Path) -> None:
    _assert_one_clear_line(nobody.run("status", state=root_owned_state), ("status",), root_owned_state)


# Commands that run step by step read a state file they cannot read as missing and go on (the
# host is still collected, the decision still checked): one line per file, with the fix, exit 0.
STEPWISE = {("collect",), ("decide",), ("act", "--dry-run")}


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_unreadable_state_files_are_one_line_with_the_fix(nobody: Nobody, unreadable_state: Path,
                                                          command: tuple[str, ...]) -> None:
    proc = nobody.run(*command, state=unreadable_state, stdin=DECISION)
    if command == ("doctor",):  # the dir itself is fine; doctor reads no state file it could not
        _assert_fine_or_nothing_yet(proc, command)
    elif command in STEPWISE:
        said = _said(proc, command)
        assert "Traceback" not in proc.stderr + proc.stdout and proc.returncode == 0, said
        lines = [x for x in proc.stderr.splitlines() if "cannot be read (Permission denied)" in x]
        assert lines and all(str(unreadable_state) in x and "run as root or set ARGUS_STATE_DIR" in x
                             for x in lines), said
    else:
        _assert_one_clear_line(proc, command, unreadable_state)


# Read-only state: the commands that only read work; those that must write say so in one line.
WRITERS = {("cycle",), ("cycle", "--dry-run"), ("patterns", "analyze"), ("patterns", "detect"), ("doctor",),
           ("relay-summary",)}
# relay-summary writes its fallback file when Relay is missing: when that write fails too, the
# summary would be lost, so it says so in one line and exits 1.
WRITER_PARAMS = [pytest.param(c, id=" ".join(c)) for c in COMMANDS]


@pytest.mark.parametrize("command", WRITER_PARAMS)
def test_a_read_only_state_dir_is_one_line_for_the_commands_that_write(
        nobody: Nobody, read_only_state: Path, command: tuple[str, ...]) -> None:
    proc = nobody.run(*command, state=read_only_state, stdin=DECISION)
    if command in WRITERS:
        _assert_one_clear_line(proc, command, read_only_state)
    else:
        _assert_fine_or_nothing_yet(proc, command)


# A missing state dir: the commands that only read find nothing yet; those that write say in one
# line that it cannot be created.
@pytest.mark.parametrize("command", WRITER_PARAMS)
def test_a_state_dir_that_cannot_be_created_is_one_line_for_the_commands_that_write(
        nobody: Nobody, uncreatable_state: Path, command: tuple[str, ...]) -> None:
    proc = nobody.run(*command, state=uncreatable_state, stdin=DECISION)
    if command in WRITERS:  # the line names the state dir or the directory that could not be made
        _assert_one_clear_line(proc, command, uncreatable_state, uncreatable_state.parent)
    else:
        _assert_fine_or_nothing_yet(proc, command)
    assert not uncreatable_state.parent.exists()


# --- the pieces, in process ------------------------------------------------------------------------

def test_an_os_error_at_the_boundary_names_the_path_and_the_fix(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("ARGUS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    inside = tmp_path / "state" / "cycles.jsonl"
    line = os_error_line(PermissionError(errno.EACCES, "Permission denied", str(inside)))
    assert line == f"cannot open {inside}: Permission denied: {HINT}"
    elsewhere = tmp_path / "out.json"
    assert os_error_line(PermissionError(errno.EACCES, "Permission denied", str(elsewhere))).endswith(
        "run as root or use another path")
    read_only = os_error_line(OSError(errno.EROFS, "Read-only file system", str(inside)))
    assert read_only.endswith("remount it read-write or set ARGUS_STATE_DIR")
    assert os_error_line(OSError(errno.ENOENT, "No such file or directory", str(inside))) == \
        f"cannot open {inside}: No such file or directory"


def test_an_argus_error_for_a_permission_problem_gets_the_fix_once(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("ARGUS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    cause = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "state" / "problems.jsonl"))
    assert with_access_hint("reading it failed", cause) == f"reading it failed: {HINT}"
    assert with_access_hint(f"already said: {HINT}", cause) == f"already said: {HINT}"
    assert with_access_hint("bad input", ValueError("x")) == "bad input"
    assert with_access_hint("bad input", None) == "bad input"


def test_the_state_dir_checks_name_the_fix(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(StateDirError, match="is not a directory") as caught:
        check_state_readable(not_a_dir)
    assert caught.value.exit_code == 1
    with pytest.raises(StateDirError, match="set ARGUS_STATE_DIR to a directory") as under_a_file:
        check_state_dir(not_a_dir / "state")
    assert under_a_file.value.exit_code == 1
    check_state_readable(tmp_path / "missing")  # nothing yet: fine for a reader
    check_state_dir(tmp_path / "a" / "b" / "state")  # creatable: fine for a writer

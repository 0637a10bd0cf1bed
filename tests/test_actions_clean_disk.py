"""clean_disk on real trees under a temp ARGUS_HOST_ROOT and HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers_actions import actions_env, registry, use_env

from argus_cli.actions.clean_disk import locked_inodes
from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.model import Decision

DAY = 86400
# The clean runs 400 days after the test builds its tree. Nothing can set a ctime, so every entry's
# ctime is the real now: 400 days old on this clock. _age dates atime and mtime against this clock
# (into the real future), so a file's age is what the test says and ctime never keeps it.
NOW = time.time() + 400 * DAY


def _file(path: Path, size: int = 5000, age_days: float = 30) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    _age(path, age_days)
    return path


def _age(path: Path, age_days: float) -> None:
    stamp = NOW - age_days * DAY
    os.utime(path, (stamp, stamp), follow_symlinks=False)


def _reclaim(*paths: Path) -> int:
    return sum(p.lstat().st_blocks * 512 for p in paths)


@pytest.fixture
def env(argus_env, tmp_path):
    return actions_env(argus_env, tmp_path)


@pytest.fixture
def host(tmp_path) -> Path:
    return tmp_path / "host"


@pytest.fixture
def outside(tmp_path) -> Path:
    """A directory clean_disk must never touch, full of old files."""
    keep = tmp_path / "precious"
    _file(keep / "deep" / "data.bin", age_days=400)
    _file(keep / "top.txt", age_days=400)
    return keep


def _untouched(outside: Path) -> bool:
    return (outside / "deep" / "data.bin").exists() and (outside / "top.txt").exists()


def _clean(config, dry_run=False, tuning=None, now=NOW):
    decision = Decision("t", [{"type": "clean_disk", "reason": "disk at 93%", "target": "/etc"}])
    return execute_decision(config, decision, None, dry_run=dry_run, now=now, tuning=tuning)[0]


def test_removes_old_entries_keeps_new_ones_and_reports_bytes(env, host, monkeypatch, outside):
    config = use_env(monkeypatch, env)
    old = [_file(host / "tmp" / "old.log"), _file(host / "var/tmp/a/b/old.bin", 10000),
           _file(host / "home/tester/.cache/pip/wheels/x.whl", 7000),
           _file(host / "var/log/syslog.log.1.gz", 300)]
    new = [_file(host / "tmp" / "fresh.log", age_days=1), _file(host / "var/tmp/a/new.bin", age_days=0),
           _file(host / "var/log/syslog.log", age_days=90), _file(host / "var/log/syslog.log.10.gz", age_days=90),
           _file(host / "home/tester/.cache/other/x", age_days=90)]
    for d in (host / "var/tmp/a/b", host / "home/tester/.cache/pip/wheels"):
        _age(d, 30)
    expected_bytes = _reclaim(*old)
    result = _clean(config)
    assert result.status == "success", result.detail
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in new)
    assert not (host / "var/tmp/a/b").exists()  # old and emptied: removed
    assert (host / "var/tmp/a").exists()  # still holds a new file
    assert result.extra["bytes_reclaimed"] == expected_bytes
    assert result.extra["removed"] == len(old) + 2  # the files plus two emptied old directories
    assert _untouched(outside)
    [line] = registry(config)
    assert (line["type"], line["action_taken"], line["action_result"]) == ("disk", "clean_disk:safelist", "success")


def test_argus_rotated_logs_only(env, host, monkeypatch, tmp_path):
    config = use_env(monkeypatch, env)
    logs = config.log_dir
    rotated = [_file(logs / f"argus.log.{n}") for n in (1, 2, 3)]
    kept = [_file(logs / "argus.log"), _file(logs / "argus.log.4"), _file(logs / "other.log.1")]
    _clean(config)
    assert not any(p.exists() for p in rotated)
    assert all(p.exists() for p in kept)


def test_symlinks_are_removed_as_links_never_followed(env, host, monkeypatch, outside):
    config = use_env(monkeypatch, env)
    (host / "tmp").mkdir(parents=True)
    link_dir = host / "tmp" / "to-precious"
    link_dir.symlink_to(outside)
    _age(link_dir, 30)
    fresh_link = host / "tmp" / "fresh-link"
    fresh_link.symlink_to(outside / "top.txt")
    _age(fresh_link, 0)  # undated, it would be as old as its ctime on this clock
    (host / "var/log").mkdir(parents=True)
    log_link = host / "var/log/evil.log.1.gz"
    log_link.symlink_to(outside / "top.txt")
    _age(log_link, 30)
    result = _clean(config)
    assert result.status == "success"
    assert not link_dir.is_symlink() and not log_link.is_symlink()  # old links gone, as links
    assert fresh_link.is_symlink()
    assert _untouched(outside)


def test_a_root_that_is_a_symlink_is_not_entered(env, host, monkeypatch, outside):
    config = use_env(monkeypatch, env)
    (host / "var").mkdir(parents=True)
    (host / "var" / "tmp").symlink_to(outside)
    (host / "home/tester/.cache").mkdir(parents=True)
    (host / "home/tester/.cache/npm").symlink_to(outside)
    result = _clean(config)
    assert _untouched(outside)
    assert str(host / "var/tmp") not in result.extra["roots"]


def test_a_directory_swapped_for_a_symlink_mid_walk_is_not_followed(env, host, monkeypatch, outside, tmp_path):
    config = use_env(monkeypatch, env)
    victim = host / "tmp" / "victim"
    _file(victim / "old.txt")
    _age(victim, 30)
    swapped = []

    def swap(rel: str) -> None:  # runs after clean_disk lstat'ed the directory, before it opens it
        if rel.endswith("/victim") and not swapped:
            os.rename(victim, tmp_path / "moved-away")
            victim.symlink_to(outside)
            swapped.append(rel)

    result = _clean(config, tuning=Tuning(before_descend=swap))
    assert swapped == ["tmp/victim"]
    assert _untouched(outside)
    assert (tmp_path / "moved-away" / "old.txt").exists()  # it left the root: not cleaned either
    assert result.status == "success"


def test_a_racing_thread_swapping_directories_never_leads_outside(env, host, monkeypatch, outside):
    import threading
    config = use_env(monkeypatch, env)
    for i in range(300):
        _file(host / "tmp" / f"d{i}" / "f", size=10)
        _age(host / "tmp" / f"d{i}", 30)
    stop = threading.Event()

    def racer() -> None:
        i = 0
        while not stop.is_set():
            target = host / "tmp" / f"d{i % 300}"
            try:
                shutil.rmtree(target)
                target.symlink_to(outside)
            except OSError:
                pass
            i += 7
    thread = threading.Thread(target=racer)
    thread.start()
    try:
        _clean(config)
    finally:
        stop.set()
        thread.join()
    assert _untouched(outside)


def test_never_descends_into_another_filesystem(host):
    """Mounting needs root, so walk /dev (a devtmpfs) as if it were a root on the temp dir's device:
    its /dev/shm (a tmpfs) must not be entered, even in dry-run."""
    from argus_cli.actions.clean_disk import Frame, Walk, _clean_subdir
    if not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == os.stat(host.parent).st_dev:
        pytest.skip("needs /dev/shm on a filesystem of its own")
    entered: list[str] = []
    walk = Walk(NOW, True, frozenset(), entered.append)
    dev_fd = os.open("/dev", os.O_RDONLY | os.O_DIRECTORY)
    try:
        st = os.stat("shm", dir_fd=dev_fd, follow_symlinks=False)
        assert _clean_subdir(Frame(dev_fd, os.stat(host.parent).st_dev, "dev", 0), "shm", st, walk) is False
    finally:
        os.close(dev_fd)
    assert entered == [] and walk.tally.removed == 0


def test_sockets_and_fifos_stay(env, host, monkeypatch):
    config = use_env(monkeypatch, env)
    (host / "tmp").mkdir(parents=True)
    fifo = host / "tmp" / "pipe"
    os.mkfifo(fifo)
    _age(fifo, 30)
    _clean(config)
    assert fifo.exists()


@pytest.mark.parametrize("how", ["decision", "setting"])
def test_dry_run_reports_without_removing(env, host, monkeypatch, how):
    if how == "setting":
        env = {**env, "ARGUS_DISK_CLEAN_DRY_RUN": "true"}
    config = use_env(monkeypatch, env)
    old = _file(host / "tmp" / "old.log", 8192)
    result = _clean(config, dry_run=how == "decision")
    assert old.exists()
    assert result.extra["removed"] == 1
    assert result.extra["bytes_reclaimed"] == _reclaim(old)
    assert "would remove" in result.detail
    assert config.problems_file.exists() == (how == "setting")


def test_argus_state_under_tmp_is_left_alone(argus_env, tmp_path, monkeypatch):
    host = tmp_path / "host"
    state = host / "tmp" / "argus-state"
    env = actions_env(argus_env, tmp_path, ARGUS_STATE_DIR=str(state))
    config = use_env(monkeypatch, env)
    kept = _file(state / "restart-backoff.json", 100)
    _age(state, 30)
    _clean(config)
    assert kept.exists()


# --- age: the newest of atime, mtime and ctime; in use: locked or an X display lock ---------------

def _tarball(tmp_path: Path, stamp: float) -> Path:
    """A tarball whose members carry archive times from long ago, as a release download does."""
    _file(tmp_path / "src" / "pkg" / "setup.py", 100)
    tar = tmp_path / "pkg.tar"

    def dated(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime = int(stamp)
        return info
    with tarfile.open(tar, "w") as out:
        out.add(tmp_path / "src" / "pkg", arcname="pkg", filter=dated)
    return tar


@pytest.mark.parametrize("later_kept", [(0, True), (8, False)])
def test_a_freshly_extracted_tarball_ages_from_its_extraction(env, host, monkeypatch, tmp_path, later_kept):
    """Extraction sets the archive's old mtimes (and atimes) but the ctime is the extraction's: kept
    until the tree is older than the max age by that clock too, then removed as usual."""
    days_later, kept = later_kept
    config = use_env(monkeypatch, env)
    (host / "tmp").mkdir(parents=True)
    subprocess.run(["tar", "-C", str(host / "tmp"), "-xf", str(_tarball(tmp_path, time.time() - 300 * DAY))],
                   check=True)
    extracted = host / "tmp" / "pkg" / "setup.py"
    assert extracted.stat().st_mtime < time.time() - 200 * DAY  # the archive's time, as tar sets it
    result = _clean(config, now=time.time() + days_later * DAY)
    assert result.status == "success", result.detail
    assert extracted.exists() == kept and (host / "tmp" / "pkg").exists() == kept


@pytest.mark.parametrize(("read_ago", "kept"), [(60, True), (30 * DAY, False)])
def test_a_file_read_recently_is_kept(env, host, monkeypatch, read_ago, kept):
    """Old mtime and ctime; only the atime says someone read it a minute ago. Directories alike."""
    config = use_env(monkeypatch, env)
    read = _file(host / "tmp" / "report.csv")
    folder = host / "var/tmp/build"
    folder.mkdir(parents=True)
    for path in (read, folder):
        os.utime(path, (NOW - read_ago, NOW - 30 * DAY))
    _clean(config)
    assert read.exists() == kept and folder.exists() == kept


def test_an_x_display_lock_stays(env, host, monkeypatch):
    config = use_env(monkeypatch, env)
    x_lock, other = _file(host / "tmp" / ".X0-lock", 11), _file(host / "tmp" / ".Xauthority-old", 11)
    _clean(config)
    assert x_lock.exists() and not other.exists()


_HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY if sys.argv[2] == "flock" else os.O_RDWR)
if sys.argv[2] == "flock":
    fcntl.flock(fd, fcntl.LOCK_EX)
else:
    fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(120)
"""


@contextmanager
def _locked_by_child(path: Path, how: str) -> Iterator[subprocess.Popen[str]]:
    """A live python process holding a lock on ``path`` for the block (ready once it says so)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path), how], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.parametrize("how", ["flock", "lockf"])
def test_a_file_locked_by_a_live_process_stays_until_the_lock_goes(env, host, monkeypatch, how):
    config = use_env(monkeypatch, env)
    held, free = _file(host / "tmp" / "app.lock", 10), _file(host / "tmp" / "stale.lock", 10)
    with _locked_by_child(held, how):
        _clean(config)
        assert held.exists() and not free.exists()
    _clean(config)  # the holder died: the kernel dropped its lock, the file is just old now
    assert not held.exists()


def test_a_locked_directory_is_neither_entered_nor_removed(env, host, monkeypatch):
    """flock on a directory is how systemd-tmpfiles is told to keep out; the same here."""
    config = use_env(monkeypatch, env)
    inside = _file(host / "var/tmp/session/old.bin")
    _age(inside.parent, 30)
    with _locked_by_child(inside.parent, "flock"):
        _clean(config)
        assert inside.exists()
    _clean(config)
    assert not inside.parent.exists()


def test_an_open_but_unlocked_file_is_removed_and_its_holder_keeps_reading(env, host, monkeypatch):
    """The decision not to scan /proc/*/fd: removing an open file's name leaves the holder its inode."""
    config = use_env(monkeypatch, env)
    old = _file(host / "tmp" / "idle.dat", 10)
    with old.open("rb") as holder:
        _clean(config)
        assert not old.exists()
        assert holder.read() == b"x" * 10


def test_the_walk_leaves_directory_atimes_alone(env, host, monkeypatch):
    """Listing a directory would refresh its atime, and one listed by every clean would never age."""
    config = use_env(monkeypatch, env)
    _file(host / "tmp" / "keepdir" / "fresh.txt", age_days=0)
    _age(host / "tmp" / "keepdir", 30)
    before = (host / "tmp" / "keepdir").stat().st_atime
    _clean(config)
    assert (host / "tmp" / "keepdir").stat().st_atime == before


def test_locked_inodes_reads_every_lock_line(tmp_path):
    locks = tmp_path / "locks"
    locks.write_text("1: POSIX  ADVISORY  WRITE 4211 00:2d:1234 0 EOF\n"
                     "1: -> POSIX  ADVISORY  WRITE 4300 00:2d:1234 0 EOF\n"
                     "2: FLOCK  ADVISORY  WRITE 4924 fe:00:2147559 0 EOF\n"
                     "3: OFDLCK ADVISORY  READ  -1 103:02:77 0 10\n"
                     "4: LEASE  ACTIVE    READ  99 fd:01:5 0 EOF\n")
    assert locked_inodes(str(locks)) == {1234, 2147559, 77, 5}
    assert locked_inodes(str(tmp_path / "absent")) == frozenset()


# --- bind mounts -------------------------------------------------------------------------------

def _act(config, *actions, snapshot=None):
    return execute_decision(config, Decision("t", list(actions), [], "llm"), snapshot, dry_run=False,
                            now=time.time(), tuning=Tuning(kill_grace=0.5, active_timeout=2.0, poll_interval=0.1))


def test_clean_disk_does_not_enter_a_bind_mount_of_the_same_filesystem(argus_env, tmp_path, monkeypatch):
    env = actions_env(argus_env, tmp_path)
    precious = tmp_path / "precious"
    (precious / "sub").mkdir(parents=True)
    files = [precious / "keep.txt", precious / "sub" / "keep2.txt"]
    mount_point = Path(env["ARGUS_HOST_ROOT"]) / "tmp" / "build-cache"
    mount_point.mkdir(parents=True)
    old = time.time() - 30 * 86400
    for path in files:
        path.write_text("precious")
    for path in [*files, precious / "sub", precious]:
        os.utime(path, (old, old))
    mounted = subprocess.run(["mount", "--bind", str(precious), str(mount_point)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("needs permission to bind-mount (root with CAP_SYS_ADMIN)")
    try:
        assert os.stat(mount_point).st_dev == os.stat(mount_point.parent).st_dev  # st_dev cannot tell
        config = use_env(monkeypatch, env)
        [result] = _act(config, {"type": "clean_disk", "reason": "disk full"})
        assert result.status == "success", result.detail
        assert all(path.exists() for path in files), "clean_disk deleted files outside its root"
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)

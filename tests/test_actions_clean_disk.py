"""clean_disk on real trees under a temp ARGUS_HOST_ROOT and HOME."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from helpers_actions import actions_env, registry, use_env

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.model import Decision

DAY = 86400
NOW = time.time()


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


def _clean(config, dry_run=False, tuning=None):
    decision = Decision("t", [{"type": "clean_disk", "reason": "disk at 93%", "target": "/etc"}])
    return execute_decision(config, decision, None, dry_run=dry_run, now=NOW, tuning=tuning)[0]


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

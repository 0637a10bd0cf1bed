"""ARGUS_DISK_PATHS against real paths: one bad path is one error, never a blind disks collector;
a path that is not a mount point is measured where it lives, and `argus doctor` says so."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import mounted_tmpfs

from argus_cli.collectors import CollectorSpec, Partial, collect_snapshot, default_collectors
from argus_cli.collectors.context import CollectContext
from argus_cli.config import load
from argus_cli.doctor import check_disk_path, mount_point_of
from argus_cli.snapshot import to_json

MISSING = "/nonexistent-argus-disk-path"


def disks_of(env: dict[str, str], paths: str) -> dict[str, Any]:
    """The disks collector alone, as ``argus collect --json`` prints it."""
    specs = [spec for spec in default_collectors() if spec.name == "disks"]
    snap = collect_snapshot(CollectContext(load({**env, "ARGUS_DISK_PATHS": paths})), specs)
    return dict(json.loads(json.dumps(to_json(snap))))


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB mount point (root only; skipped where mounting is not allowed)."""
    with mounted_tmpfs(tmp_path / "mnt", "size=1m") as mount:
        yield mount


# --- the collector --------------------------------------------------------------------------------

def test_a_missing_path_is_one_error_and_root_is_still_measured(argus_env, tmp_path):
    snap = disks_of(argus_env, f"/,{MISSING},{tmp_path}")
    assert [d["path"] for d in snap["disks"]] == ["/", str(tmp_path)]
    root = snap["disks"][0]
    assert root["total_mb"] > 0 and root["total_mb"] == shutil.disk_usage("/").total // (1024 * 1024)
    assert snap["errors"] == [{"collector": "disks", "error": f"{MISSING}: No such file or directory"}]


def test_every_bad_path_is_its_own_error(argus_env, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    snap = disks_of(argus_env, f"{MISSING},{not_a_dir}/below")
    assert snap["disks"] == []
    assert snap["errors"] == [{"collector": "disks", "error": f"{MISSING}: No such file or directory"},
                              {"collector": "disks", "error": f"{not_a_dir}/below: Not a directory"}]


def test_a_path_that_is_not_a_mount_point_measures_the_filesystem_it_is_on(argus_env, tmp_path):
    assert not os.path.ismount(tmp_path)
    snap = disks_of(argus_env, str(tmp_path))
    assert snap["errors"] == []
    [disk] = snap["disks"]
    host = shutil.disk_usage(mount_point_of(os.path.realpath(tmp_path)))
    assert disk["path"] == str(tmp_path) and disk["total_mb"] == host.total // (1024 * 1024)


def test_partial_results_keep_their_data_and_add_one_error_per_item(argus_env):
    """The assembly itself: a Partial fills its fields and adds its errors in collector order; a
    collector that raises still leaves its fields empty with one error."""
    def some(ctx: CollectContext) -> Partial[tuple[()]]:
        return Partial((), ("a: gone", "b: gone"))

    def boom(ctx: CollectContext) -> object:
        raise RuntimeError("sensor on fire")

    specs = [CollectorSpec("services", some, ("services",)), CollectorSpec("boom", boom, ("memory", "swap")),
             *[spec for spec in default_collectors() if spec.name == "disks"]]
    snap = collect_snapshot(CollectContext(load({**argus_env, "ARGUS_DISK_PATHS": f"{MISSING},/"})), specs)
    assert [d.path for d in snap.disks] == ["/"] and snap.memory is None and snap.services == ()
    assert [(e.collector, e.error) for e in snap.errors] == [
        ("services", "a: gone"), ("services", "b: gone"), ("boom", "RuntimeError: sensor on fire"),
        ("disks", f"{MISSING}: No such file or directory")]


def test_argus_collect_measures_root_beside_a_missing_path(run_argus, argus_env):
    result = run_argus("collect", "--json", env={**argus_env, "ARGUS_DISK_PATHS": f"/,{MISSING}"})
    assert result.returncode == 0, result.stderr
    snap = json.loads(result.stdout)
    assert [d["path"] for d in snap["disks"]] == ["/"]
    assert snap["errors"] == [{"collector": "disks", "error": f"{MISSING}: No such file or directory"}]


# --- argus doctor ---------------------------------------------------------------------------------

def test_doctor_root_is_a_mount_point():
    check = check_disk_path("/")
    assert (check.name, check.level, check.detail) == ("disk path", "ok", "/ is a mount point")


def test_doctor_warns_about_a_directory_that_is_not_a_mount_point(tmp_path):
    mount = mount_point_of(os.path.realpath(tmp_path))
    check = check_disk_path(str(tmp_path))
    assert (check.level, check.detail) == (
        "warn", f"{tmp_path} is not a mount point: it measures the filesystem of {mount} instead")


def test_doctor_fails_on_a_missing_path():
    check = check_disk_path(MISSING)
    assert check.level == "FAIL"
    assert check.detail.startswith(f"{MISSING} cannot be measured (No such file or directory)")


def test_doctor_cli_lines_and_exit_codes(run_argus, argus_env, tmp_path):
    mount = mount_point_of(os.path.realpath(tmp_path))
    warned = run_argus("doctor", env={**argus_env, "ARGUS_DISK_PATHS": f"/,{tmp_path}"})
    lines = warned.stdout.splitlines()
    assert "ok    disk path   / is a mount point" in lines
    assert f"warn  disk path   {tmp_path} is not a mount point: it measures the filesystem of {mount} instead" in lines
    assert warned.returncode == (1 if any(line.startswith("FAIL") for line in lines) else 0)
    assert not any(line.startswith("FAIL  disk path") for line in lines)

    failed = run_argus("doctor", "--json", env={**argus_env, "ARGUS_DISK_PATHS": f"/,{MISSING}"})
    assert failed.returncode == 1
    disk_checks = [c for c in json.loads(failed.stdout) if c["name"] == "disk path"]
    assert [c["level"] for c in disk_checks] == ["ok", "FAIL"]
    assert MISSING in disk_checks[1]["detail"] and "ARGUS_DISK_PATHS" in disk_checks[1]["detail"]


def test_a_real_mount_point_passes_doctor_and_is_measured(argus_env, tmpfs, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmpfs)
    below = tmpfs / "below"
    below.mkdir()
    assert (check_disk_path(str(tmpfs)).level, check_disk_path(str(tmpfs)).detail) == (
        "ok", f"{tmpfs} is a mount point")
    assert check_disk_path(str(link)).level == "ok"  # a symlink to a mount point measures that mount
    assert (check_disk_path(str(below)).level, check_disk_path(str(below)).detail) == (
        "warn", f"{below} is not a mount point: it measures the filesystem of {tmpfs} instead")
    snap = disks_of(argus_env, f"{tmpfs},{MISSING}")
    assert snap["disks"] == [{"path": str(tmpfs), "total_mb": 1, "used_mb": 0, "free_mb": 1, "percent": 0.0}]
    assert len(snap["errors"]) == 1

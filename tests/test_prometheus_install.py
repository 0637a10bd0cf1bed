"""`scripts/install.sh --prometheus DIR`, run for real into staging roots: the env file's line, the
drop-in that lets the sandboxed unit write DIR, kept across upgrades, removed with the install."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import write_executable
from helpers_deploy import UNITS, read_manifest, run_install, unit_settings

from argus_cli.config import load

DIR = "/var/lib/prometheus/node-exporter"  # Debian's prometheus-node-exporter reads this one
DROPIN = Path("etc/systemd/system/argus.service.d/prometheus.conf")
ENV = Path("etc/argus/argus.env")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def install(stage: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_install("--destdir", str(stage), *args)
    assert result.returncode == 0, result.stderr
    return result


def textfile_lines(stage: Path) -> list[str]:
    return [x for x in (stage / ENV).read_text().splitlines() if x.startswith("ARGUS_PROMETHEUS_TEXTFILE=")]


def test_prometheus_sets_the_env_line_in_place_and_a_drop_in(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    example = (Path(__file__).parent.parent / "argus.env.example").read_text().splitlines()
    result = install(stage, "--skip-pip", "--prometheus", DIR + "/")
    assert f"set ARGUS_PROMETHEUS_TEXTFILE={DIR}/argus.prom in /etc/argus/argus.env" in result.stdout
    assert f"{DIR} does not exist yet" in result.stdout  # node_exporter is not installed in the stage
    env_lines = (stage / ENV).read_text().splitlines()
    assert textfile_lines(stage) == [f"ARGUS_PROMETHEUS_TEXTFILE={DIR}/argus.prom"]
    # the example's blank line is replaced where it was: its comment stays above it
    assert env_lines.index(textfile_lines(stage)[0]) == example.index("ARGUS_PROMETHEUS_TEXTFILE=")
    assert (stage / ENV).stat().st_mode & 0o777 == 0o600
    assert unit_settings(stage / DROPIN)["Service"] == {"ReadWritePaths": [f"-{DIR}"]}
    options, entries = read_manifest(stage)
    assert options["prometheus"] == DIR and f"file /{DROPIN}" in entries
    config = load({"ARGUS_ENV_FILE": str(stage / ENV), "HOME": str(tmp_path)})
    assert config.prometheus_textfile == Path(DIR) / "argus.prom"


def test_an_upgrade_keeps_the_drop_in_and_leaves_the_env_line_alone(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    install(stage, "--skip-pip", "--prometheus", DIR)
    env_file = stage / ENV
    env_file.write_text(env_file.read_text().replace(f"{DIR}/argus.prom", "/srv/metrics/argus.prom"))
    edited = env_file.read_bytes()
    again = install(stage)
    assert f"--prometheus {DIR}" in again.stdout.splitlines()[0]  # reused, and said
    assert "nothing to do" in again.stdout
    assert env_file.read_bytes() == edited and (stage / DROPIN).is_file()
    moved = install(stage, "--prometheus", "/srv/metrics")
    assert "installed /etc/systemd/system/argus.service.d/prometheus.conf" in moved.stdout
    assert unit_settings(stage / DROPIN)["Service"] == {"ReadWritePaths": ["-/srv/metrics"]}
    assert textfile_lines(stage) == ["ARGUS_PROMETHEUS_TEXTFILE=/srv/metrics/argus.prom"]
    reset = install(stage, "--reset-options", "--skip-pip")
    assert "removed /etc/systemd/system/argus.service.d/prometheus.conf" in reset.stdout
    assert "prometheus" not in read_manifest(stage)[0]
    assert textfile_lines(stage) == ["ARGUS_PROMETHEUS_TEXTFILE=/srv/metrics/argus.prom"]  # yours


def test_cron_sets_only_the_env_line_and_uninstall_removes_the_drop_in(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    install(stage, "--skip-pip", "--cron", "--prometheus", DIR)
    assert not (stage / DROPIN).exists() and textfile_lines(stage) == [f"ARGUS_PROMETHEUS_TEXTFILE={DIR}/argus.prom"]
    install(stage, "--systemd")
    assert (stage / DROPIN).is_file()
    gone = run_install("--destdir", str(stage), "--uninstall", "--purge")
    assert gone.returncode == 0, gone.stderr
    assert list(stage.iterdir()) == []


@pytest.mark.parametrize("directory", ["relative/dir", "/a b", "/srv/../etc", "/", "/srv/$(id)", ""])
def test_a_bad_directory_is_refused_before_anything_is_written(tmp_path: Path, directory: str) -> None:
    stage = tmp_path / "stage"
    result = run_install("--destdir", str(stage), "--skip-pip", "--prometheus", directory)
    assert result.returncode == 1
    assert "--prometheus must be an absolute directory" in result.stderr
    assert list(stage.iterdir()) == []


def test_a_manifest_naming_a_bad_prometheus_directory_is_refused(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    install(stage, "--skip-pip", "--prometheus", DIR)
    manifest = stage / "opt/argus/install-manifest"
    manifest.write_text(manifest.read_text().replace(f"option prometheus {DIR}", "option prometheus /a b"))
    result = run_install("--destdir", str(stage))
    assert result.returncode == 1 and "manifest: bad option: option prometheus /a b" in result.stderr


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze missing: install the Debian package `systemd`")
def test_the_unit_with_the_drop_in_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    write_executable(prefix / "venv/bin/argus", "#!/bin/sh\nexit 0\n")
    stage = tmp_path / "stage"
    install(stage, "--skip-pip", "--prefix", str(prefix), "--prometheus", DIR)
    unit_dir = stage / "etc/systemd/system"
    proc = subprocess.run([SYSTEMD_ANALYZE, "verify", *UNITS], cwd=unit_dir, capture_output=True, text=True,
                          timeout=60, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")

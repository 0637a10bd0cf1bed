"""Deployment: the systemd units, the crontab, scripts/install.sh and the doctor's timer checks.

install.sh runs for real into staging roots (--destdir); systemd-analyze checks the units it
wrote; the venv + pip step runs once (test_real_venv_install), everything else uses --skip-pip.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from conftest import write_executable
from helpers_deploy import (
    CRON,
    FAKE_PYTHON,
    INSTALL,
    REPO,
    UNITS,
    cron_next_runs,
    parse_cron_d,
    read_manifest,
    run_install,
    source_copy,
    systemd_next_runs,
    tree_state,
    unit_settings,
)

from argus_cli.config import VARS_BY_NAME, load
from argus_cli.doctor import check_last_cycle, check_timer
from argus_cli.model import iso_z

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze missing: install the Debian package `systemd`")
UNIT_DIR = "etc/systemd/system"




def staged(tmp_path: Path, *args: str) -> Path:
    stage = tmp_path / "stage"
    result = run_install("--destdir", str(stage), "--skip-pip", *args)
    assert result.returncode == 0, result.stderr
    return stage


# --- unit files ---------------------------------------------------------------------------

@needs_systemd_analyze
def test_installed_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart's binary exists: point --prefix at a real stand-in.
    prefix = tmp_path / "prefix"
    write_executable(prefix / "venv/bin/argus", "#!/bin/sh\nexit 0\n")
    stage = staged(tmp_path, "--prefix", str(prefix), "--host-tmp")
    unit_dir = stage / UNIT_DIR
    assert (unit_dir / "argus.service.d/host-tmp.conf").is_file()
    proc = subprocess.run([str(SYSTEMD_ANALYZE), "verify", *UNITS], cwd=unit_dir, capture_output=True,
                          text=True, timeout=60, check=False)
    # Unknown keys and unparsable values are only warnings (exit 0): any output is a failure.
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


@needs_systemd_analyze
def test_services_rate_ok_in_systemd_analyze_security(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    write_executable(prefix / "venv/bin/argus", "#!/bin/sh\nexit 0\n")
    unit_dir = staged(tmp_path, "--prefix", str(prefix)) / UNIT_DIR
    for name in ("argus.service", "argus-patterns.service", "argus-relay-summary.service"):
        proc = subprocess.run([str(SYSTEMD_ANALYZE), "security", "--offline=yes", "--no-pager", name],
                              cwd=unit_dir, capture_output=True, text=True, timeout=60, check=False)
        found = re.search(rf"Overall exposure level for {re.escape(name)}: ([0-9.]+)", proc.stdout)
        assert found, proc.stdout + proc.stderr
        assert float(found.group(1)) < 5.0, f"{name}: {found.group(0)} (5.0 and above is MEDIUM)"


@needs_systemd_analyze
def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    # The check above can fail: a misspelt hardening key is reported.
    prefix = tmp_path / "prefix"
    write_executable(prefix / "venv/bin/argus", "#!/bin/sh\nexit 0\n")
    stage = staged(tmp_path, "--prefix", str(prefix))
    service = stage / UNIT_DIR / "argus.service"
    service.write_text(service.read_text().replace("PrivateTmp=yes", "PrivateTmpp=yes"))
    proc = subprocess.run([str(SYSTEMD_ANALYZE), "verify", "argus.service"], cwd=service.parent,
                          capture_output=True, text=True, timeout=60, check=False)
    assert "Unknown key 'PrivateTmpp'" in proc.stderr


def test_cycle_service_is_a_hardened_oneshot() -> None:
    service = unit_settings(CRON / "argus.service")["Service"]
    single = {key: values[-1] for key, values in service.items()}
    assert single["Type"] == "oneshot"
    assert shlex.split(single["ExecStart"]) == ["/opt/argus/venv/bin/argus", "cycle"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
                       "MemoryMax": "1G", "StateDirectory": "argus", "ProtectHome": "read-only"}.items():
        assert single[key] == value, key
    environment = dict(item.split("=", 1) for item in service["Environment"])
    assert environment == {"ARGUS_ENV_FILE": "/etc/argus/argus.env", "ARGUS_STATE_DIR": "/var/lib/argus"}
    # EnvironmentFile= would override Environment= with the example's empty ARGUS_STATE_DIR=.
    assert "EnvironmentFile" not in service
    # The outer limit sits between the cycle's own limit and the 5-minute interval.
    assert int(VARS_BY_NAME["ARGUS_CYCLE_TIMEOUT"].default) < int(single["TimeoutStartSec"]) < 300
    assert {"-/var/log", "-/root/.cache"} <= set(" ".join(service["ReadWritePaths"]).split())
    assert "CAP_KILL" in single["CapabilityBoundingSet"].split()


def test_every_service_shares_the_environment_and_core_hardening() -> None:
    for name in ("argus.service", "argus-patterns.service", "argus-relay-summary.service"):
        service = unit_settings(CRON / name)["Service"]
        assert service["Environment"] == ["ARGUS_ENV_FILE=/etc/argus/argus.env", "ARGUS_STATE_DIR=/var/lib/argus"]
        for key in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "MemoryMax", "StateDirectory"):
            assert key in service, f"{name} lacks {key}"


@pytest.mark.parametrize(("timer", "service", "argv"), [
    ("argus.timer", "argus.service", ["cycle"]),
    ("argus-patterns.timer", "argus-patterns.service", ["patterns", "detect"]),
    ("argus-relay-summary.timer", "argus-relay-summary.service", ["relay-summary"]),
])
def test_each_timer_starts_its_service(timer: str, service: str, argv: list[str]) -> None:
    settings = unit_settings(CRON / timer)
    assert settings["Timer"]["Unit"] == [service]
    assert settings["Timer"]["Persistent"] == ["true"]
    assert settings["Install"]["WantedBy"] == ["timers.target"]
    exec_start = unit_settings(CRON / service)["Service"]["ExecStart"]
    assert [shlex.split(line) for line in exec_start] == [["/opt/argus/venv/bin/argus", *argv]]


@pytest.mark.parametrize("service", ["argus.service", "argus-patterns.service", "argus-relay-summary.service"])
def test_the_units_call_commands_argus_has(service: str, argus_env: dict[str, str], run_argus) -> None:
    argv = shlex.split(unit_settings(CRON / service)["Service"]["ExecStart"][0])
    result = run_argus(*argv[1:], "--help", env=argus_env)
    assert result.returncode == 0, result.stderr
    assert "Example:" in result.stdout


# --- crontab ------------------------------------------------------------------------------

def test_crontab_runs_the_same_commands_with_the_same_environment() -> None:
    env, jobs = parse_cron_d((CRON / "crontab").read_text())
    by_service = {}
    for name in ("argus.service", "argus-patterns.service", "argus-relay-summary.service"):
        service = unit_settings(CRON / name)["Service"]
        by_service[tuple(shlex.split(service["ExecStart"][0]))] = dict(
            item.split("=", 1) for item in service["Environment"])
    assert [job.argv for job in jobs] == list(by_service)
    for job in jobs:
        assert job.user == "root"
        assert {k: env[k] for k in by_service[job.argv]} == by_service[job.argv]


@needs_systemd_analyze
def test_crontab_fires_when_the_timers_do() -> None:
    _, jobs = parse_cron_d((CRON / "crontab").read_text())
    timers = {"cycle": "argus.timer", "patterns": "argus-patterns.timer", "relay-summary": "argus-relay-summary.timer"}
    base = datetime(2024, 2, 28, 5, 41)  # crosses an hour, a day and the end of February
    for job in jobs:
        expression = unit_settings(CRON / timers[job.argv[1]])["Timer"]["OnCalendar"][0]
        assert cron_next_runs(job.fields, base, 30) == systemd_next_runs(expression, base, 30), job


@pytest.mark.parametrize(("line", "error"), [
    ("*/5 * * * * /bin/true", "not 5 fields + user + command"),
    ("60 * * * * root /bin/true", "outside 0-59"),
    ("*/0 * * * * root /bin/true", "bad step"),
    ("0 6 * 13 * root /bin/true", "outside 1-12"),
])
def test_crontab_checker_rejects_malformed_lines(line: str, error: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(error)):
        _, jobs = parse_cron_d(line + "\n")
        cron_next_runs(jobs[0].fields, datetime(2024, 1, 1), 1)


# --- install.sh ---------------------------------------------------------------------------

def test_install_script_is_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck missing: install the Debian package `shellcheck`")
    proc = subprocess.run([shellcheck, str(INSTALL)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout


def test_second_run_changes_nothing_and_keeps_the_edited_env_file(tmp_path: Path) -> None:
    stage = staged(tmp_path, "--host-tmp")
    env_file = stage / "etc/argus/argus.env"
    example = (REPO / "argus.env.example").read_text()
    assert example.count("\nARGUS_STATE_DIR=\n") == 1
    assert env_file.read_text() == example.replace("\nARGUS_STATE_DIR=\n", "\nARGUS_STATE_DIR=/var/lib/argus\n")
    assert env_file.stat().st_mode & 0o777 == 0o600
    # By hand, without the units' environment, the installed file points at the same state.
    assert load({"ARGUS_ENV_FILE": str(env_file)}).state_dir == Path("/var/lib/argus")
    env_file.write_text(env_file.read_text() + "ARGUS_MIN_FREE_MB=500\n")
    before = tree_state(stage)
    again = run_install("--destdir", str(stage), "--skip-pip", "--host-tmp")
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert again.stdout.count("\n") == 1  # that one line, no "installed ..." or "created ..."
    assert tree_state(stage) == before
    assert env_file.read_text().endswith("ARGUS_MIN_FREE_MB=500\n")


def test_changed_file_is_restored_and_reported(tmp_path: Path) -> None:
    stage = staged(tmp_path)
    unit = stage / UNIT_DIR / "argus.timer"
    pristine = unit.read_bytes()
    unit.write_text("tampered\n")
    again = run_install("--destdir", str(stage), "--skip-pip")
    assert "installed /etc/systemd/system/argus.timer" in again.stdout
    assert "done: 1 change(s)" in again.stdout
    assert unit.read_bytes() == pristine


def test_prefix_is_written_into_units_and_crontab(tmp_path: Path) -> None:
    stage = staged(tmp_path, "--prefix", "/srv/argus")
    for name in ("argus.service", "argus-patterns.service", "argus-relay-summary.service"):
        exec_start = unit_settings(stage / UNIT_DIR / name)["Service"]["ExecStart"][0]
        assert exec_start.startswith("/srv/argus/venv/bin/argus ")
    assert (stage / "srv/argus/install-manifest").is_file()
    cron = run_install("--destdir", str(stage), "--skip-pip", "--prefix", "/srv/argus", "--cron")
    assert cron.returncode == 0, cron.stderr
    _, jobs = parse_cron_d((stage / "etc/cron.d/argus").read_text())
    assert {job.argv[0] for job in jobs} == {"/srv/argus/venv/bin/argus"}


@pytest.mark.parametrize("prefix", ["relative/path", "/opt/ar gus", "/opt/../etc", "/opt/argus;rm"])
def test_bad_prefix_is_refused_before_anything_is_written(tmp_path: Path, prefix: str) -> None:
    stage = tmp_path / "stage"
    result = run_install("--destdir", str(stage), "--skip-pip", "--prefix", prefix)
    assert result.returncode == 1
    assert "--prefix must be an absolute path" in result.stderr
    assert list(stage.rglob("*")) == []


def test_switching_to_cron_removes_the_units_it_had_installed(tmp_path: Path) -> None:
    stage = staged(tmp_path, "--host-tmp")
    cron = run_install("--destdir", str(stage), "--skip-pip", "--cron")
    assert cron.returncode == 0, cron.stderr
    assert "removed /etc/systemd/system/argus.timer (no longer part of this install)" in cron.stdout
    assert sorted(p.name for p in (stage / UNIT_DIR).rglob("*") if p.is_file()) == []
    assert (stage / "etc/cron.d/argus").stat().st_mode & 0o777 == 0o644
    assert (stage / "var/lib/argus").stat().st_mode & 0o777 == 0o700
    before = tree_state(stage)
    again = run_install("--destdir", str(stage), "--skip-pip", "--cron")
    assert "nothing to do" in again.stdout
    assert tree_state(stage) == before


def test_timers_are_enabled_through_systemctl_once(tmp_path: Path) -> None:
    calls = tmp_path / "systemctl.log"
    # A stand-in systemctl that logs its argv; `is-active` fails for argus.timer only.
    write_executable(tmp_path / "bin/systemctl", f"""#!/bin/sh
echo "$*" >> {calls}
case "$*" in *"is-active --quiet -- argus.timer") [ -f {tmp_path}/started ] || exit 3 ;; esac
case "$*" in "enable --now -- argus.timer") touch {tmp_path}/started ;; esac
exit 0
""")
    env = {"ARGUS_INSTALL_SYSTEMD": "yes", "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    stage = tmp_path / "stage"
    timers = "argus.timer argus-patterns.timer argus-relay-summary.timer"

    def run(*args: str) -> list[str]:
        calls.unlink(missing_ok=True)
        result = run_install("--destdir", str(stage), "--skip-pip", *args, env=env)
        assert result.returncode == 0, result.stderr
        return calls.read_text().splitlines() if calls.exists() else []

    assert run() == ["daemon-reload", f"enable -- {timers}", f"restart -- {timers}"]
    # Nothing changed, but argus.timer is not active: only it is started.
    second = run()
    assert [c for c in second if not c.startswith("is-")] == ["enable --now -- argus.timer"]
    third = run()  # all enabled and active now: two queries per timer, nothing else
    assert sorted(third) == sorted(f"{q} --quiet -- {t}" for t in timers.split() for q in ("is-enabled", "is-active"))
    assert run("--uninstall") == [f"disable --now -- {t}" for t in timers.split()] + ["daemon-reload"]
    run()
    # Moving to cron stops the timers it replaces.
    assert run("--cron") == [f"disable --now -- {t}" for t in timers.split()] + ["daemon-reload"]


def test_uninstall_removes_what_it_installed_and_nothing_else(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    planted = {stage / UNIT_DIR / "unrelated.service": "[Service]\nExecStart=/bin/true\n",
               stage / "opt/argus/notes.txt": "operator's notes\n"}
    for path, text in planted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    untouched = tree_state(stage)
    staged(tmp_path, "--host-tmp")
    (stage / "etc/argus/argus.env").write_text("TELEGRAM_CHAT_ID=42\n")
    result = run_install("--destdir", str(stage), "--uninstall")
    assert result.returncode == 0, result.stderr
    assert "kept /etc/argus/argus.env" in result.stdout
    left = tree_state(stage)
    assert left.pop("etc/argus/argus.env")[0] == "file"
    assert left.pop("etc/argus")[0] == "dir"
    assert left == untouched
    purge = run_install("--destdir", str(stage), "--uninstall", "--purge")
    assert "nothing to uninstall" in purge.stdout  # the manifest went with the first uninstall


def test_install_then_purge_restores_the_staging_root_exactly(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    own_env = stage / "etc/argus/argus.env"  # the operator's, from before the install
    own_env.parent.mkdir(parents=True)
    own_env.write_text("ARGUS_DECIDER=rules\n")
    untouched = tree_state(stage)
    staged(tmp_path, "--cron")
    assert own_env.read_text() == "ARGUS_DECIDER=rules\n"
    result = run_install("--destdir", str(stage), "--uninstall", "--purge")
    assert result.returncode == 0, result.stderr
    assert tree_state(stage) == untouched  # its own env file was not the script's to purge


def test_uninstall_refuses_a_manifest_naming_foreign_trees(tmp_path: Path) -> None:
    stage = staged(tmp_path)
    manifest = stage / "opt/argus/install-manifest"
    manifest.write_text(manifest.read_text() + "tree /etc\n")
    before = tree_state(stage)
    result = run_install("--destdir", str(stage), "--uninstall")
    assert result.returncode == 1
    assert "refusing to delete tree /etc" in result.stderr
    assert tree_state(stage) == before


def test_install_into_the_real_system_needs_root_or_destdir() -> None:
    argv = ["bash", str(INSTALL), "--skip-pip"]
    if os.geteuid() == 0:  # drop to nobody, as an operator who forgot sudo would be
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) missing: cannot run as an unprivileged user")
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, cwd="/")
    assert result.returncode == 1
    assert "writing /etc and /opt/argus needs root (or stage with --destdir DIR)" in result.stderr


# --- install.sh: upgrades keep the install as it was ----------------------------------------
# An upgrade is `git pull && sudo scripts/install.sh`: no options. The manifest remembers those
# of the last run; an explicit one wins and is remembered; nothing an earlier run installed is
# forgotten, so --uninstall still removes it.

REUSED = "argus install: reusing the options of the last install: "
CRON_FILE = "etc/cron.d/argus"
DROPIN = f"{UNIT_DIR}/argus.service.d/host-tmp.conf"


def unit_files(stage: Path) -> list[str]:
    unit_dir = stage / UNIT_DIR
    return sorted(str(p.relative_to(unit_dir)) for p in unit_dir.rglob("*") if p.is_file()) if unit_dir.exists() else []


def test_a_staged_install_switched_between_modes_keeps_the_last_one(tmp_path: Path) -> None:
    stage = tmp_path / "stage"

    def install(*args: str) -> str:
        result = run_install("--destdir", str(stage), *args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    install("--skip-pip", "--cron", "--host-tmp")
    assert read_manifest(stage)[0] == {"mode": "cron", "host-tmp": "yes", "skip-pip": "yes", "python": "python3"}
    cron_text = (stage / CRON_FILE).read_text()
    before = tree_state(stage)
    # The upgrade: no options. Still cron (on a host without systemd the cycles go on), no units.
    upgrade = install()
    assert upgrade.splitlines() == [
        REUSED + "--cron --host-tmp --skip-pip (--cron/--systemd switch the mode; --reset-options takes the defaults)",
        f"argus install: nothing to do: {stage}/opt/argus is installed and up to date (no file changed)"]
    assert tree_state(stage) == before
    assert (stage / CRON_FILE).read_text() == cron_text
    assert unit_files(stage) == []
    # An explicit mode wins (the remembered --host-tmp comes back with the units) and is remembered.
    switched = install("--systemd")
    assert switched.startswith(REUSED + "--host-tmp --skip-pip (")
    assert "removed /etc/cron.d/argus (no longer part of this install)" in switched
    assert unit_files(stage) == sorted([*UNITS, "argus.service.d/host-tmp.conf"])
    assert not (stage / CRON_FILE).exists()
    options, entries = read_manifest(stage)
    assert options["mode"] == "systemd"
    # The cron run's /var/lib/argus is still listed though this run did not create it.
    assert "dir /var/lib/argus" in entries
    assert "file /etc/cron.d/argus" not in entries  # it removed that one
    before = tree_state(stage)
    assert "nothing to do" in install()
    assert tree_state(stage) == before
    assert unit_files(stage) == sorted([*UNITS, "argus.service.d/host-tmp.conf"])
    # --reset-options: the defaults for what is not given; the drop-in goes and stays gone.
    reset = install("--reset-options", "--skip-pip")
    assert REUSED not in reset
    assert "removed /etc/systemd/system/argus.service.d/host-tmp.conf (no longer part of this install)" in reset
    assert read_manifest(stage)[0] == {"mode": "systemd", "host-tmp": "no", "skip-pip": "yes", "python": "python3"}
    again = install("--skip-pip")
    assert REUSED not in again  # what was left to reuse are the defaults: no line for those
    assert "nothing to do" in again
    assert not (stage / DROPIN).exists()
    # Everything any of these runs installed goes, down to the empty staging root.
    gone = run_install("--destdir", str(stage), "--uninstall", "--purge")
    assert gone.returncode == 0, gone.stderr
    assert list(stage.iterdir()) == []


def test_upgrade_of_a_host_tmp_install_keeps_the_drop_in(tmp_path: Path) -> None:
    stage = staged(tmp_path, "--host-tmp")
    dropin = (stage / DROPIN).read_bytes()
    upgrade = run_install("--destdir", str(stage))
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.startswith(REUSED + "--host-tmp --skip-pip (")
    assert "removed" not in upgrade.stdout
    assert (stage / DROPIN).read_bytes() == dropin
    # Moving to cron drops the drop-in with the units; back on systemd, --host-tmp is remembered.
    assert run_install("--destdir", str(stage), "--cron").returncode == 0
    assert unit_files(stage) == []
    back = run_install("--destdir", str(stage), "--systemd")
    assert back.stdout.startswith(REUSED + "--host-tmp --skip-pip (")
    assert (stage / DROPIN).read_bytes() == dropin


def test_skip_pip_after_a_venv_install_keeps_the_venv_in_the_manifest(tmp_path: Path) -> None:
    python = write_executable(tmp_path / "bin/python-stand-in", FAKE_PYTHON)
    stage = tmp_path / "stage"
    venv = stage / "opt/argus/venv"
    first = run_install("--destdir", str(stage), "--python", str(python))
    assert first.returncode == 0, first.stdout + first.stderr
    assert (venv / "bin/argus").is_file() and (venv / "pip.log").is_file()
    assert "tree /opt/argus/venv" in read_manifest(stage)[1]
    skip = run_install("--destdir", str(stage), "--skip-pip")
    assert skip.returncode == 0, skip.stderr
    assert skip.stdout.startswith(f"{REUSED}--python {python} (")
    options, entries = read_manifest(stage)
    assert (options["skip-pip"], options["python"]) == ("yes", str(python))
    assert "tree /opt/argus/venv" in entries  # not installed by this run, but still there and ours
    # The next upgrade reuses --skip-pip too: pip is not run again.
    (venv / "pip.log").unlink()
    upgrade = run_install("--destdir", str(stage))
    assert upgrade.stdout.startswith(f"{REUSED}--skip-pip --python {python} (")
    assert not (venv / "pip.log").exists()
    gone = run_install("--destdir", str(stage), "--uninstall", "--purge")
    assert gone.returncode == 0, gone.stderr
    assert "removed /opt/argus/venv" in gone.stdout
    assert list(stage.iterdir()) == []


def test_a_manifest_written_before_options_were_recorded_is_read_as_it_was(tmp_path: Path) -> None:
    # An older install.sh listed paths only, and a --skip-pip run dropped the venv it had made.
    python = write_executable(tmp_path / "bin/python-stand-in", FAKE_PYTHON)
    stage = tmp_path / "stage"
    first = run_install("--destdir", str(stage), "--python", str(python), "--cron")
    assert first.returncode == 0, first.stdout + first.stderr
    manifest = stage / "opt/argus/install-manifest"
    old = [line for line in manifest.read_text().splitlines()
           if not line.startswith("option ") and line != "tree /opt/argus/venv"]
    manifest.write_text("\n".join(old) + "\n")
    upgrade = run_install("--destdir", str(stage))
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.startswith(REUSED + "--cron --skip-pip (")
    assert unit_files(stage) == [] and (stage / CRON_FILE).is_file()
    options, entries = read_manifest(stage)
    assert (options["mode"], options["skip-pip"]) == ("cron", "yes")
    assert "tree /opt/argus/venv" in entries  # its stamp file says this script made it
    assert run_install("--destdir", str(stage), "--uninstall", "--purge").returncode == 0
    assert list(stage.iterdir()) == []


@pytest.mark.parametrize("line", ["option mode upstart", "option host-tmp maybe", "option prefix /etc",
                                  "option python "])
def test_a_bad_option_line_in_the_manifest_is_refused(tmp_path: Path, line: str) -> None:
    stage = staged(tmp_path)
    manifest = stage / "opt/argus/install-manifest"
    manifest.write_text(manifest.read_text() + line + "\n")
    before = tree_state(stage)
    result = run_install("--destdir", str(stage))
    assert result.returncode == 1
    assert "manifest: bad" in result.stderr
    assert tree_state(stage) == before


@pytest.mark.slow
def test_real_venv_install_runs_argus_and_is_idempotent(tmp_path: Path, argus_env: dict[str, str]) -> None:
    stage = tmp_path / "stage"
    script = source_copy(tmp_path / "src")
    first = run_install("--destdir", str(stage), script=script)
    assert first.returncode == 0, first.stdout + first.stderr
    # The venv's own argus runs, with the packaged prompt.md (doctor fails when it is missing).
    argus = stage / "opt/argus/venv/bin/argus"
    doctor = subprocess.run([str(argus), "doctor", "--json"], env=argus_env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    prompt = next(c for c in json.loads(doctor.stdout) if c["name"] == "prompt")
    assert prompt["level"] == "ok"
    assert prompt["detail"].startswith(str(stage / "opt/argus/venv/lib"))
    before = tree_state(stage / "etc") | tree_state(stage / "opt/argus/venv")
    again = run_install("--destdir", str(stage), script=script)
    assert "nothing to do" in again.stdout, again.stdout
    assert tree_state(stage / "etc") | tree_state(stage / "opt/argus/venv") == before
    gone = run_install("--destdir", str(stage), "--uninstall", "--purge", script=script)
    assert gone.returncode == 0, gone.stderr
    assert list(stage.iterdir()) == []


# --- argus doctor ---------------------------------------------------------------------------

def doctor_checks(run_argus, env: dict[str, str]) -> dict[str, dict[str, str]]:
    result = run_argus("doctor", "--json", env=env)
    assert result.returncode == 0, result.stderr  # warnings never fail the doctor
    return {check["name"]: check for check in json.loads(result.stdout)}


def test_doctor_reports_the_timer_from_a_staging_root(tmp_path: Path, argus_env, run_argus) -> None:
    stage = tmp_path / "stage"
    stage.mkdir()
    env = {**argus_env, "ARGUS_HOST_ROOT": str(stage)}
    assert doctor_checks(run_argus, env)["timer"]["level"] == "warn"
    staged(tmp_path)
    timer = doctor_checks(run_argus, env)["timer"]
    assert timer["level"] == "ok"
    assert str(stage / UNIT_DIR / "argus.timer") in timer["detail"]
    run_install("--destdir", str(stage), "--skip-pip", "--cron")
    timer = doctor_checks(run_argus, env)["timer"]
    assert (timer["level"], timer["detail"]) == ("ok", f"crontab {stage / 'etc/cron.d/argus'}")


@pytest.mark.parametrize(("answer", "code", "level"), [("enabled", 0, "ok"), ("disabled", 1, "warn")])
def test_doctor_asks_systemctl_when_systemd_runs(tmp_path: Path, answer: str, code: int, level: str) -> None:
    stage = staged(tmp_path)
    (stage / "run/systemd/system").mkdir(parents=True)
    calls = tmp_path / "calls"
    systemctl = write_executable(tmp_path / "bin/systemctl",
                                 f'#!/bin/sh\necho "$@" >> {calls}\necho {answer}\nexit {code}\n')
    check = check_timer(stage, systemctl=str(systemctl))
    assert check.level == level
    assert answer in check.detail
    assert calls.read_text() == "is-enabled argus.timer\n"


def test_doctor_last_cycle(tmp_path: Path) -> None:
    now = time.time()
    state = tmp_path / "state"
    state.mkdir()
    assert check_last_cycle(state, now).level == "warn"
    cases = [({"status": "ok", "timestamp": iso_z(now - 120)}, "ok", "ok at"),
             ({"status": "fallback", "timestamp": iso_z(now - 60)}, "ok", "fallback at"),
             # read as the cycle reads it: a number is no timestamp there, the cycle moves it aside
             ({"status": "ok", "timestamp": now - 60}, "warn", "unreadable"),
             ({"status": "ok", "timestamp": iso_z(now - 16 * 60)}, "warn", "older than 15 min"),
             ({"status": "failed", "timestamp": iso_z(now - 60), "detail": "interrupted",
               "consecutive_failures": 2}, "warn", "interrupted (2 in a row)"),
             ({"status": "ok"}, "warn", "no usable timestamp")]
    for state_value, level, text in cases:
        (state / "cycle-state.json").write_text(json.dumps(state_value))
        check = check_last_cycle(state, now)
        assert (check.level, text in check.detail) == (level, True), (state_value, check)
    (state / "cycle-state.json").write_text("{torn")
    assert "unreadable" in check_last_cycle(state, now).detail
    assert (state / "cycle-state.json").read_text() == "{torn"  # the doctor only reads


def test_doctor_last_cycle_through_the_cli(tmp_path: Path, argus_env, run_argus) -> None:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(parents=True, exist_ok=True)
    (state / "cycle-state.json").write_text(json.dumps({"status": "ok", "timestamp": iso_z(time.time() - 30),
                                                         "detail": "", "consecutive_failures": 0}))
    check = doctor_checks(run_argus, argus_env)["last cycle"]
    assert check["level"] == "ok"
    assert check["detail"].startswith("ok at ")

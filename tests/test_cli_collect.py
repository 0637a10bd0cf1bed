"""`argus collect` and `argus doctor` through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SNAPSHOT_KEYS = {"ts", "host", "argus_version", "system", "memory", "swap", "cgroup_memory", "disks",
                 "memory_hog", "top_processes", "services", "orphans", "tmux", "freshness",
                 "previous_cycle", "errors"}


def test_collect_json_has_every_field(run_argus, argus_env):
    result = run_argus("collect", "--json", env=argus_env)
    assert result.returncode == 0, result.stderr
    snap = json.loads(result.stdout)
    assert set(snap) == SNAPSHOT_KEYS
    assert snap["ts"].endswith("Z") and snap["errors"] == []
    assert set(snap["system"]) == {"cpu_count", "cpu_percent", "load", "load_per_core", "uptime_seconds"}
    assert set(snap["memory"]) == {"total_mb", "used_mb", "available_mb", "percent"}
    assert set(snap["swap"]) == {"total_mb", "used_mb", "percent"}
    assert set(snap["disks"][0]) == {"path", "total_mb", "used_mb", "free_mb", "percent"}
    assert set(snap["memory_hog"]) == {"pid", "name", "rss_kb", "mem_percent", "runtime", "create_time",
                                       "kill_candidate"}
    assert set(snap["orphans"]) == {"pattern", "count", "killable", "pids", "processes", "oldest_age_seconds"}


def test_collect_out_writes_the_file_atomically(run_argus, argus_env, tmp_path):
    out = tmp_path / "snap" / "s.json"
    result = run_argus("collect", "--out", str(out), env=argus_env)
    assert result.returncode == 0 and result.stdout == ""
    assert set(json.loads(out.read_text())) == SNAPSHOT_KEYS
    assert [p.name for p in out.parent.iterdir()] == ["s.json"]  # no temp file left behind


def test_collect_human_view_is_plain_without_a_tty(run_argus, argus_env):
    result = run_argus("collect", env={**argus_env, "ARGUS_SERVICES": "gone=tcp:127.0.0.1:1"})
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout  # NO_COLOR and no TTY: no escape codes
    for word in ("memory", "disk /", "load", "service gone down"):
        assert word in result.stdout


def test_json_path_does_not_import_heavy_libraries(argus_env):
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: sys.stderr.write(repr(sorted({m.split('.')[0] for m in sys.modules}))))\n"
             "sys.argv = ['argus', 'collect', '--json']\n"
             "from argus_cli.cli.app import main\nmain()\n")
    result = subprocess.run([sys.executable, "-c", probe], env=argus_env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    loaded = set(eval(result.stderr.strip().splitlines()[-1]))  # noqa: S307 - our own repr of a list
    assert not loaded & {"anthropic", "httpx", "httpx2", "rich"}


def test_doctor_reports_each_check(run_argus, argus_env):
    result = run_argus("doctor", "--json", env=argus_env)
    checks = {c["name"]: c["level"] for c in json.loads(result.stdout)}
    assert checks["config"] == "ok" and checks["state dir"] == "ok"
    assert checks["api key"] == "warn" and checks["telegram"] == "warn"
    assert result.returncode == (1 if "FAIL" in checks.values() else 0)


def test_doctor_fails_on_a_missing_prompt_and_bad_config(run_argus, argus_env, tmp_path):
    result = run_argus("doctor", env={**argus_env, "ARGUS_PROMPT_FILE": str(tmp_path / "nope.md")})
    assert result.returncode == 1
    assert any(line.startswith("FAIL") and "prompt" in line for line in result.stdout.splitlines())
    result = run_argus("doctor", env={**argus_env, "ARGUS_LLM_TIMEOUT": "1"})
    assert result.returncode == 1 and "ARGUS_LLM_TIMEOUT='1'" in result.stdout


def test_doctor_fails_on_unwritable_state_dir(run_argus, argus_env, tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    result = run_argus("doctor", env={**argus_env, "ARGUS_STATE_DIR": str(blocker / "state")})
    assert result.returncode == 1
    assert any(line.startswith("FAIL") and "state dir" in line for line in result.stdout.splitlines())


def test_a_quiet_cycle_does_not_import_the_http_client(argus_env):
    """Every cycle creates a Telegram budget; only a cycle that sends pays for urllib and ssl."""
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: sys.stderr.write(repr(sorted(sys.modules))))\n"
             "sys.argv = ['argus', 'cycle', '--json', '--decider', 'rules']\n"
             "from argus_cli.cli.entry import main\nmain()\n")
    quiet = {**argus_env, "ARGUS_MEMORY_WARN_PCT": "100", "ARGUS_MEMORY_CRIT_PCT": "100", "ARGUS_DISK_WARN_PCT": "100",
             "ARGUS_DISK_CRIT_PCT": "100", "ARGUS_SWAP_WARN_PCT": "100", "ARGUS_LOAD_FACTOR": "1000"}
    result = subprocess.run([sys.executable, "-c", probe], env=quiet, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    loaded = set(eval(result.stderr.strip().splitlines()[-1]))  # noqa: S307 - our own repr of a list
    assert not loaded & {"ssl", "urllib.request", "http.client", "anthropic", "rich"}


# --- state the collectors keep ------------------------------------------------------------------

@pytest.fixture
def env(argus_env: dict[str, str]) -> dict[str, str]:
    return argus_env


def state(env: dict[str, str]) -> Path:
    return Path(env["ARGUS_STATE_DIR"])


def test_a_hand_edited_cpu_baseline_costs_one_sample_not_the_system_section(env: dict[str, str],
                                                                             run_argus: Any) -> None:
    state(env).mkdir(parents=True)
    (state(env) / "cpu-times.json").write_text('{"ts": null, "busy": "x", "idle": 1}')
    for _ in range(2):
        snap = json.loads(run_argus("collect", "--json", env=env).stdout)
        assert snap["errors"] == [] and 0.0 <= snap["system"]["cpu_percent"] <= 100.0
    assert isinstance(json.loads((state(env) / "cpu-times.json").read_text())["ts"], float)

"""Helpers for the deployment tests: run install.sh, read unit files and crontabs, hash trees."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INSTALL = REPO / "scripts" / "install.sh"
CRON = REPO / "cron"
UNITS = ("argus.service", "argus.timer", "argus-patterns.service", "argus-patterns.timer",
         "argus-relay-summary.service", "argus-relay-summary.timer")
# cron field ranges: minute, hour, day of month, month, day of week (0 and 7 are Sunday)
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def run_install(*args: str, env: dict[str, str] | None = None,
                script: Path = INSTALL) -> subprocess.CompletedProcess[str]:
    """scripts/install.sh with a clean environment (no DESTDIR leaking in from the caller)."""
    base = {k: v for k, v in os.environ.items() if k not in ("DESTDIR", "PYTHON", "ARGUS_INSTALL_SYSTEMD")}
    return subprocess.run(["bash", str(script), *args], env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=120, check=False)


def source_copy(dest: Path) -> Path:
    """What a release tarball holds, copied, so pip builds there and not in the working tree."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in ("argus_cli", "cron", "scripts"):
        shutil.copytree(REPO / name, dest / name, ignore=skip)
    for name in ("pyproject.toml", "README.md", "argus.env.example", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dest / name)
    return dest / "scripts" / "install.sh"


def tree_state(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every path under root: kind, mode and (files) sha256 of the content."""
    out: dict[str, tuple[str, int, str]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        mode = path.lstat().st_mode & 0o7777
        if path.is_symlink():
            out[rel] = ("link", mode, os.readlink(path))
        elif path.is_dir():
            out[rel] = ("dir", mode, "")
        else:
            out[rel] = ("file", mode, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def unit_settings(path: Path) -> dict[str, dict[str, list[str]]]:
    """section -> key -> values (systemd allows a key more than once), comments skipped."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not KEY=VALUE: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@dataclass(frozen=True)
class CronJob:
    fields: tuple[str, ...]
    user: str
    argv: tuple[str, ...]


def parse_cron_d(text: str) -> tuple[dict[str, str], list[CronJob]]:
    """An /etc/cron.d file: NAME=VALUE lines, then `m h dom mon dow user command` lines."""
    env: dict[str, str] = {}
    jobs: list[CronJob] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = line.split(None, 1)[0]
        if "=" in head and not head[0].isdigit() and head[0] != "*":
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip().strip('"')
            continue
        parts = line.split(None, 6)
        assert len(parts) == 7, f"not 5 fields + user + command: {raw!r}"
        jobs.append(CronJob(tuple(parts[:5]), parts[5], tuple(shlex.split(parts[6]))))
    return env, jobs


def cron_field_values(field: str, lo: int, hi: int) -> set[int]:
    """The values one cron field stands for; AssertionError for anything cron would reject."""
    values: set[int] = set()
    for item in field.split(","):
        body, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        assert step >= 1, f"bad step in {field!r}"
        if body == "*":
            start, end = lo, hi
        elif "-" in body:
            start, end = (int(x) for x in body.split("-", 1))
        else:
            start = end = int(body)
        assert lo <= start <= end <= hi, f"{field!r} is outside {lo}-{hi}"
        values.update(range(start, end + 1, step))
    return values


def cron_next_runs(fields: tuple[str, ...], after: datetime, count: int) -> list[datetime]:
    """The next `count` minutes after `after` the five cron fields match (dom/dow both `*` here)."""
    minute, hour, dom, month, dow = (cron_field_values(f, *r) for f, r in zip(fields, CRON_RANGES, strict=True))
    dow = {d % 7 for d in dow}
    runs: list[datetime] = []
    moment = after.replace(second=0, microsecond=0)
    while len(runs) < count:
        moment += timedelta(minutes=1)
        if (moment.minute in minute and moment.hour in hour and moment.day in dom
                and moment.month in month and (moment.isoweekday() % 7) in dow):
            runs.append(moment)
    return runs


def systemd_next_runs(expression: str, after: datetime, count: int) -> list[datetime]:
    """What `systemd-analyze calendar` says an OnCalendar= expression fires next, in UTC."""
    proc = subprocess.run(["systemd-analyze", "calendar", f"--iterations={count}",
                           f"--base-time={after:%Y-%m-%d %H:%M:%S} UTC", expression],
                          env={**os.environ, "TZ": "UTC"}, capture_output=True, text=True, timeout=30,
                          check=True)
    runs = []
    for line in proc.stdout.splitlines():
        label, _, value = line.strip().partition(": ")
        if label == "Next elapse" or label.startswith("Iter. #"):
            stamp = " ".join(value.split()[1:3])  # "Mon 2024-01-01 05:55:00 UTC"
            runs.append(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S"))
    return runs[:count]


def read_manifest(stage: Path, prefix: str = "opt/argus") -> tuple[dict[str, str], list[str]]:
    """install-manifest under a staging root: its options (name -> value) and its KIND PATH lines."""
    options: dict[str, str] = {}
    entries: list[str] = []
    for line in (stage / prefix / "install-manifest").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("option "):
            name, _, value = line.removeprefix("option ").partition(" ")
            options[name] = value
        else:
            entries.append(line)
    return options, entries


# A stand-in interpreter for install.sh's venv step (the real pip install is
# test_real_venv_install's): `-c` passes the version check, `-m venv -- DIR` copies itself to
# DIR/bin/python, `-m pip install` writes bin/argus next to it and logs the call.
FAKE_PYTHON = """#!/bin/sh
case "$1 $2" in
    "-c "*) exit 0 ;;
    "-m venv") mkdir -p "$4/bin" && cp "$0" "$4/bin/python" && exit 0 ;;
    "-m pip") dir=$(dirname "$0"); printf '#!/bin/sh\\n' >"$dir/argus"; chmod +x "$dir/argus"
              echo "$*" >>"$dir/../pip.log"; exit 0 ;;
esac
exit 1
"""

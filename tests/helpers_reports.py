"""Test helpers for the reports area: an independent reference computation and registry writers.

The reference below deliberately shares no code with argus_cli.reports: it loads every record
into a list with the stdlib json module and counts with plain loops, the simplest way to get
the numbers SPEC §8 asks for.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import REAL_REGISTRY
from dateutil.parser import isoparse


def real_registry() -> Path:
    if not REAL_REGISTRY.is_file():
        pytest.skip(f"real registry not found at {REAL_REGISTRY} (CI must clone shared/ beside the repo)")
    return REAL_REGISTRY


def load_records(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


def to_utc(ts: str) -> datetime:
    moment = isoparse(ts)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def in_window(records: list[dict[str, Any]], now: float, days: int) -> list[dict[str, Any]]:
    cutoff = now - days * 86400
    return [r for r in records if to_utc(r["ts"]).timestamp() >= cutoff]


def expected_stats(records: list[dict[str, Any]], now: float, days: int) -> dict[str, Any]:
    """Everything of the stats report except generated_at."""
    chosen = in_window(records, now, days)
    hours = Counter(to_utc(r["ts"]).strftime("%Y-%m-%dT%H:00Z") for r in chosen)
    days_ = Counter(to_utc(r["ts"]).strftime("%Y-%m-%d") for r in chosen)
    successes = sum(1 for r in chosen if r["action_result"] == "success")
    return {
        "window_days": days,
        "total_problems": len(chosen),
        "by_type": dict(Counter(r["type"] for r in chosen)),
        "by_severity": dict(Counter(r["severity"] for r in chosen)),
        "action_results": dict(Counter(r["action_result"] for r in chosen)),
        "action_success_rate": (successes / len(chosen)) * 100 if chosen else 0,
        "hourly": [{"bucket": b, "count": hours[b]} for b in sorted(hours)],
        "daily": [{"bucket": b, "count": days_[b]} for b in sorted(days_)],
    }


def expected_patterns(records: list[dict[str, Any]], now: float, days: int) -> list[tuple[str, str, str, dict]]:
    """(id, type, severity, data) of each expected pattern, in report order."""
    chosen = in_window(records, now, days)
    out: list[tuple[str, str, str, dict]] = []
    restarts = Counter(to_utc(r["ts"]).strftime("%Y-%m-%d") for r in chosen
                       if r["type"] == "service" and r["action_taken"].startswith("restart_service"))
    for day in sorted(restarts):
        if restarts[day] >= 3:
            out.append((f"service-restarts-{day}", "service_restart_spike", "warning",
                        {"day": day, "count": restarts[day]}))
    disk = [r for r in chosen if r["type"] == "disk"]
    if len(disk) >= 3 and len({to_utc(r["ts"]).date() for r in disk}) >= 2:
        out.append(("disk-pressure-trend", "disk_pressure_trend", "warning", {"count": len(disk)}))
    hogs: Counter[str] = Counter()
    for r in chosen:
        found = re.findall(r"hog_process=([^,; ]+)", r["description"]) if r["type"] == "memory" else []
        if found:
            hogs[found[0]] += 1
    for name in sorted(hogs):
        if hogs[name] >= 3:
            out.append((f"memory-hog-{name}", "memory_hog_recurring", "warning",
                        {"process": name, "count": hogs[name]}))
    by_hour = Counter(to_utc(r["ts"]).strftime("%H") for r in chosen)
    for hh in sorted(by_hour):
        if by_hour[hh] >= 3:
            out.append((f"time-correlation-{hh}", "time_correlation", "info", {"hour_utc": hh, "count": by_hour[hh]}))
    return out


def problem(ts: str, kind: str = "process", severity: str = "info", result: str = "success",
            *, action: str = "log:observation", description: str = "something happened") -> dict[str, Any]:
    return {"ts": ts, "severity": severity, "type": kind, "description": description, "action_taken": action,
            "action_result": result, "bead_id": None, "host": "test-host"}


def write_registry(path: Path, records: list[dict[str, Any]], extra_lines: tuple[str, ...] = (),
                   tail: str = "") -> Path:
    """Records as JSONL, then ``extra_lines`` verbatim, then ``tail`` without a newline (torn)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in records] + list(extra_lines)
    path.write_text("".join(line + "\n" for line in lines) + tail, encoding="utf-8")
    return path


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_on_tty(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run the real CLI with stdout on a pseudo-terminal (the human view); (exit code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "argus_cli", *args], env=env, stdout=slave,
                            stderr=subprocess.PIPE)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO once the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode()


# --- a relay stand-in: records its argv, then behaves as RELAY_MODE says (ok, hang, fail, limit) ----

RELAY_LIMIT = 64 * 1024
RELAY_STUB = f"""#!{sys.executable}
import json, os, sys, time
mode = os.environ.get("RELAY_MODE", "ok")
with open(os.environ["RELAY_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
if mode == "hang":
    time.sleep(60)
if mode == "fail":
    print("relay: connection refused", file=sys.stderr)
    sys.exit(1)
if mode == "limit" and len(sys.argv[3].encode()) > {RELAY_LIMIT}:
    print("relay: message body exceeds 64 KiB", file=sys.stderr)
    sys.exit(3)
print("sent")
"""


def with_relay(env: dict[str, str], tmp_path: Path, **settings: str) -> dict[str, str]:
    """``env`` with the relay stand-in first on PATH (tmp_path/bin) logging to tmp_path."""
    from conftest import write_executable
    write_executable(tmp_path / "bin" / "relay", RELAY_STUB)
    env.update({"RELAY_LOG": str(tmp_path / "relay-calls.jsonl"), **settings})
    return env

"""Run a Python scenario inside a private PID namespace (``unshare -p -f --mount-proc``).

Everything that can kill processes by a rule (the orphan sweep, kill_pid) is tried in there: a
wrong kill can only reach the scenario's own processes, and when the namespace's init exits the
kernel ends whatever is left. The init is a few lines of Python that start the scenario and reap
every child, as a real init does: orphans are reparented to it, PID 1 of the namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from typing import Any

import pytest

_INIT = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
while True:
    pid, status = os.wait()
    if pid == child.pid:
        sys.exit(os.waitstatus_to_exitcode(status))
"""

# Imported by every scenario: real processes, orphaned on purpose, and a way to report.
PRELUDE = """
import json, os, subprocess, sys, time
import psutil

def orphan(*argv):
    '''Start argv from a shell that exits at once: the process is reparented to our init (PID 1).'''
    out = subprocess.run(["sh", "-c", '"$@" >/dev/null 2>&1 & echo $!', "sh", *argv],
                         capture_output=True, text=True, check=True).stdout
    pid = int(out.strip())
    wait_for(lambda: psutil.Process(pid).ppid() == 1 and psutil.Process(pid).name() != "sh")
    return pid

def wait_for(check, within=10.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except psutil.Error:
            pass
        time.sleep(0.02)
    raise AssertionError("condition not met in time")

def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

def report(**values):
    print("RESULT " + json.dumps(values))
"""


def pidns_available() -> str | None:
    """Why a PID namespace cannot be made here, or None when it can."""
    if os.geteuid() != 0:
        return "unshare -p needs root"
    if shutil.which("unshare") is None:
        return "util-linux unshare is not installed"
    probe = subprocess.run(["unshare", "-p", "-f", "--mount-proc", "true"], capture_output=True, check=False)
    return None if probe.returncode == 0 else f"unshare refused: {probe.stderr.decode(errors='replace').strip()}"


def run_in_pidns(scenario: str, env: dict[str, str], timeout: float = 120) -> dict[str, Any]:
    """Run ``scenario`` (Python, after PRELUDE) as a child of a fresh namespace's init; the values it
    passed to ``report(...)``. Skips the test when namespaces cannot be made here."""
    why = pidns_available()
    if why is not None:
        pytest.skip(why)
    code = PRELUDE + textwrap.dedent(scenario)
    proc = subprocess.run(["unshare", "-p", "-f", "--mount-proc", "--", sys.executable, "-c", _INIT, code],
                          env=env, capture_output=True, text=True, timeout=timeout, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"scenario failed: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1].removeprefix("RESULT "))

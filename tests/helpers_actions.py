"""Test helpers for the actions area: real processes, a private tmux server, recording stand-ins
for systemctl and bd, and an Argus environment pointed at temp dirs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from conftest import write_executable

from argus_cli.config import Config, load
from argus_cli.snapshot import Snapshot, parse_snapshot

NODE_IDLE = "setInterval(()=>{},1000)"




def actions_env(argus_env: dict[str, str], tmp_path: Path, **extra: str) -> dict[str, str]:
    """argus_env plus roots in temp dirs; Relay off and bd absent unless a test installs them."""
    host = tmp_path / "host"
    host.mkdir(exist_ok=True)
    env = {**argus_env, "ARGUS_HOST_ROOT": str(host), "HOME": "/home/tester",
           "ARGUS_RELAY_ENABLED": "false", "ARGUS_BD_BIN": str(tmp_path / "no-bd"),
           "ARGUS_TMUX_SOCKETS": str(tmp_path / "tmux.sock")}
    env.update(extra)
    return env


def use_env(monkeypatch: Any, env: dict[str, str]) -> Config:
    """Make ``env`` the process environment (PATH, HOME) for in-process calls; its Config."""
    for key in [k for k in os.environ if k.startswith(("ARGUS_", "TELEGRAM_", "ANTHROPIC_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load(env)


# --- processes ------------------------------------------------------------------------------

@contextmanager
def spawned(*argv: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real process for the duration of the block; killed and reaped afterwards."""
    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_started(proc.pid, argv[0])
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def wait_started(pid: int, name: str, within: float = 5.0) -> None:
    """Wait until the child has exec'd (its name is no longer the forking python's)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).name() == os.path.basename(name) or name.startswith("python"):
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)


def running(proc: subprocess.Popen[bytes]) -> bool:
    """True while the child runs (a zombie counts as dead)."""
    return proc.poll() is None


def create_time(pid: int) -> float:
    return psutil.Process(pid).create_time()


def snapshot_with(pid: int, created: float | None, name: str = "node") -> Snapshot:
    entry = {"pid": pid, "name": name, "rss_kb": 1000, "mem_percent": 1.0, "runtime": "00:01",
             "create_time": created, "kill_candidate": True}
    return parse_snapshot({"memory": {"percent": 10.0}, "memory_hog": entry, "top_processes": [entry]})


# --- tmux -----------------------------------------------------------------------------------

def tmux(sock: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-S", str(sock), *args], capture_output=True, text=True, timeout=10, check=False)


def tmux_sessions(sock: Path) -> set[str]:
    proc = tmux(sock, "list-sessions", "-F", "#{session_name}")
    return set(proc.stdout.split()) if proc.returncode == 0 else set()


def tmux_new(sock: Path, *names: str) -> None:
    for name in names:
        tmux(sock, "new-session", "-d", "-s", name)


def tmux_stop(sock: Path) -> None:
    tmux(sock, "kill-server")


# --- stand-ins ------------------------------------------------------------------------------

_SYSTEMCTL = '''#!{python} -I
import json, os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
def here(name):
    return os.path.join(HERE, name)
# `show` is logged apart: the main log keeps its restart/is-active/reset-failed lines only
verb = sys.argv[1:2]
with open(here("systemctl-show.calls.jsonl" if verb == ["show"] else "systemctl.calls.jsonl"), "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
state = open(here("systemctl.state")).read().strip() if os.path.exists(here("systemctl.state")) else "active"
if verb == ["show"]:
    if os.path.exists(here("systemctl.show")):
        sys.stdout.write(open(here("systemctl.show"), newline="").read())
    else:
        print("ActiveState=active\\nSubState=running\\nResult=success\\nNRestarts=0")
    code = open(here("systemctl.show-exit")).read() if os.path.exists(here("systemctl.show-exit")) else "0"
    sys.exit(int(code))
if verb == ["restart"]:
    sys.exit(1 if state == "restart-fails" else 0)
if verb == ["is-active"]:
    print("active" if state == "active" else "failed")
    sys.exit(0 if state == "active" else 3)
sys.exit(0)
'''

_BD = '''#!{python} -I
import json, os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "bd.calls.jsonl"), "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
db_path = os.path.join(HERE, "bd.db.json")
db = json.load(open(db_path)) if os.path.exists(db_path) else []
args = sys.argv[1:]
if args[:1] == ["list"]:
    print(json.dumps([b for b in db if b["status"] == "open"]))
elif args[:1] == ["create"]:
    bead = {{"id": "argus-%d" % (len(db) + 1), "status": "open",
             "title": args[args.index("--title") + 1], "description": args[args.index("--description") + 1]}}
    db.append(bead)
    print(bead["id"])
elif args[:1] == ["close"]:
    for b in db:
        if b["id"] == args[1]:
            b["status"] = "closed"
json.dump(db, open(db_path, "w"))
'''


def install_systemctl(bin_dir: Path, state: str = "active", show: str | None = None, show_exit: int = 0) -> Path:
    """A recording systemctl. ``state`` drives restart/is-active; ``show`` is printed verbatim for
    ``systemctl show`` (default: an active, running unit) and ``show_exit`` is its exit status.
    ``show`` calls are logged in ``systemctl-show.calls.jsonl``, every other call (restart,
    is-active, reset-failed) in ``systemctl.calls.jsonl``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "systemctl.state").write_text(state)
    (bin_dir / "systemctl.show-exit").write_text(str(show_exit))
    if show is None:
        (bin_dir / "systemctl.show").unlink(missing_ok=True)
    else:
        (bin_dir / "systemctl.show").write_text(show, newline="")
    return write_executable(bin_dir / "systemctl", _SYSTEMCTL.format(python=sys.executable))


def install_bd(bin_dir: Path) -> Path:
    return write_executable(bin_dir / "bd", _BD.format(python=sys.executable))


def recorded(bin_dir: Path, name: str) -> list[list[str]]:
    log = bin_dir / f"{name}.calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def beads(bin_dir: Path) -> list[dict[str, Any]]:
    db = bin_dir / "bd.db.json"
    return json.loads(db.read_text()) if db.exists() else []


def registry(config: Config) -> list[dict[str, Any]]:
    path = config.problems_file
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

"""The operator's most important path, end to end: real ``argus cycle`` processes against real trouble.

Four cycles, as the timer would run them, with nothing of Argus's own replaced:

1. all fine: a local HTTP service is up, two orphaned ``node --test`` runners (their shell exited,
   init adopted them) are seen (1 of 3);
2. the service is stopped: one critical alert reaches the (local) Telegram, a bead is filed;
3. Telegram is down, memory and disk thresholds are lowered to 1 %: the orphans are killed on
   their third sighting, clean_disk runs on a temp host root, the service alert
   is suppressed and the new memory (with the hog) and disk alerts wait in the outbox;
4. Telegram is back: the outbox delivers them once, and the repeats are suppressed.

The orphan pattern names this test's own directory, so no other process on the host is touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
from helpers_notify import FakeTelegram, install_bd, running, stop, telegram_env

NODE, TMUX = shutil.which("node"), shutil.which("tmux")
pytestmark = pytest.mark.skipif(NODE is None or TMUX is None,
                                reason="needs node (real `node --test` orphans) and tmux (a real private server)")
KEYS = {"ts", "severity", "type", "description", "action_taken", "action_result", "bead_id", "host"}
OLD = time.time() - 30 * 86400
CALM = {"ARGUS_MEMORY_WARN_PCT": "100", "ARGUS_MEMORY_CRIT_PCT": "100",
        "ARGUS_DISK_WARN_PCT": "100", "ARGUS_DISK_CRIT_PCT": "100"}
TIGHT = {"ARGUS_MEMORY_WARN_PCT": "1", "ARGUS_MEMORY_CRIT_PCT": "1",
         "ARGUS_DISK_WARN_PCT": "1", "ARGUS_DISK_CRIT_PCT": "1"}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def http_service(root: Path) -> Iterator[ThreadingHTTPServer]:
    """A real HTTP service on 127.0.0.1 (the `python -m http.server` handler, in a thread)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def refusing_port() -> Iterator[str]:
    """A bound port nobody listens on: connections to it are refused, as when Telegram is down."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def orphaned_runner(test_file: Path) -> psutil.Process:
    """``node --test`` started from a shell that exits at once: the runner's parent is gone."""
    out = subprocess.run(["sh", "-c", '"$@" >/dev/null 2>&1 & echo $!', "sh", str(NODE), "--test", str(test_file)],
                         capture_output=True, text=True, check=True, cwd=test_file.parent).stdout
    runner = psutil.Process(int(out))
    deadline = time.monotonic() + 5
    while runner.ppid() != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    if runner.ppid() != 1:
        runner.kill()
        pytest.skip("orphans are adopted by a subreaper here, not by PID 1: use the PID-namespace tests")
    return runner


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def node_processes(marker: Path) -> list[psutil.Process]:
    """Live processes whose command line names the marker dir: the runners and their test children."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] != psutil.STATUS_ZOMBIE and str(marker) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def old_host_root(root: Path, outside: Path) -> dict[str, Path]:
    """A temp host root with stale files clean_disk must remove and entries it must leave."""
    paths = {name: root / rel for name, rel in {
        "old_tmp": "tmp/build-123/out.o", "old_var_tmp": "var/tmp/old.bin", "old_gz": "var/log/syslog.log.1.gz",
        "fresh": "tmp/fresh.txt", "tmux_dir": "tmp/tmux-0/default", "link": "tmp/old-link"}.items()}
    for name, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if name == "link":
            path.symlink_to(outside)
            os.utime(path, (OLD, OLD), follow_symlinks=False)
            continue
        path.write_bytes(b"x" * 4096)
        if name != "fresh":
            os.utime(path, (OLD, OLD))
    for parent in (paths["old_tmp"].parent, paths["tmux_dir"].parent):
        os.utime(parent, (OLD, OLD))
    return paths


def cycle(run_argus: Any, env: dict[str, str], **extra: str) -> tuple[dict[str, Any], str]:
    proc = run_argus("cycle", env={**env, **extra}, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = (Path(env["ARGUS_STATE_DIR"]) / "cycles.jsonl").read_text().splitlines()
    return json.loads(lines[-1]), proc.stdout + proc.stderr


def results(state: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (state / "problems.jsonl").read_text().splitlines()]


def test_an_operators_day_end_to_end(argus_env: dict[str, str], tmp_path: Path, run_argus: Any) -> None:
    if psutil.virtual_memory().percent < 1 or shutil.disk_usage("/").used * 100 < shutil.disk_usage("/").total:
        pytest.skip("memory or / is under 1 % used: the lowered thresholds could not trip")
    marker = tmp_path / f"argus-e2e-orphans-{os.getpid()}"
    marker.mkdir()
    (marker / "sleeper.test.js").write_text(
        "require('node:test')('sleeps', () => new Promise((r) => setTimeout(r, 600000)));\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("must survive")
    host = old_host_root(tmp_path / "host", outside)
    bd = install_bd(tmp_path / "bin")
    sock = tmp_path / "tmux.sock"
    state = Path(argus_env["ARGUS_STATE_DIR"])
    telegram = running(FakeTelegram())
    runners = [orphaned_runner(marker / "sleeper.test.js") for _ in range(2)]
    subprocess.run([str(TMUX), "-S", str(sock), "new-session", "-d", "-s", "op-work"], check=True)
    try:
        with http_service(tmp_path) as service:
            env = {**telegram_env(argus_env, telegram), **CALM,
                   "ARGUS_SERVICES": f"web=http://127.0.0.1:{service.server_address[1]}/",
                   "ARGUS_ORPHAN_PATTERN": f"node.*--test.*{re.escape(str(marker))}",
                   "ARGUS_HOST_ROOT": str(tmp_path / "host"), "HOME": str(tmp_path / "home"),
                   "ARGUS_TMUX_SOCKETS": str(sock), "ARGUS_DISK_PATHS": "/", "ARGUS_BOOT_GRACE_SECONDS": "0",
                   "ARGUS_LOAD_FACTOR": "1000", "ARGUS_SWAP_WARN_PCT": "100", "ARGUS_RELAY_ENABLED": "false"}
            first, _ = cycle(run_argus, env)
        assert first["actions"] == [] and first["orphan_sweep"]["count"] == 2
        assert first["orphan_sweep"]["killed"] == [] and not telegram.delivered

        second, _ = cycle(run_argus, env)  # the service is stopped now
        assert [(a["type"], a["status"]) for a in second["actions"]] == [("alert", "success")]
        assert all(alive(r) for r in runners), "killed before the threshold cycle"

        with refusing_port() as dead_telegram:
            third, out3 = cycle(run_argus, env, **TIGHT, ARGUS_TELEGRAM_API_BASE=dead_telegram)
        assert sorted(third["orphan_sweep"]["killed"]) == sorted(r.pid for r in runners)
        assert "orphan sweep: killed 2" in out3
        assert not psutil.wait_procs(runners, timeout=10)[1] and _gone(marker)
        assert {(a["type"], a["status"]) for a in third["actions"]} == {
            ("clean_disk", "success"), ("alert", "suppressed"), ("alert", "failure")}
        queued = [json.loads(x)["text"] for x in (state / "outbox.jsonl").read_text().splitlines()]
        assert len(queued) == 2

        fourth, out4 = cycle(run_argus, env, **TIGHT)
        assert fourth["outbox"] == {"delivered": 2, "queued": 0} and "outbox: 2 delivered" in out4
        assert not (state / "outbox.jsonl").exists() or not (state / "outbox.jsonl").read_text().strip()
        assert ("alert", "failure") not in {(a["type"], a["status"]) for a in fourth["actions"]}
    finally:
        for proc in [*runners, *node_processes(marker)]:  # never leave a runner or its test child behind
            with suppress(ProcessLookupError, psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(runners, timeout=10)
        subprocess.run([str(TMUX), "-S", str(sock), "kill-server"], capture_output=True, check=False)
        stop(telegram)

    # Telegram: every alert text exactly once; the service, memory (with the hog) and disk alerts.
    assert set(telegram.delivered.values()) == {1}, telegram.delivered
    texts = telegram.order
    assert texts[0].endswith("Service web is down: GET failed: Connection refused")
    assert texts[1:3] == queued  # delivered from the outbox, oldest first
    assert any("Memory critical" in t and "hog_process=" in t and "hog_kill_candidate=" in t for t in queued)
    assert any("Disk critical: / at" in t for t in queued)

    # The registry: the eight keys, and the incident's fingerprint on what named a subject; what
    # happened, in order.
    problems = results(state)
    assert all(set(p) in (KEYS, KEYS | {"key"}) for p in problems), problems
    service = [p for p in problems if "Service web is down" in p["description"]]
    assert {(p["severity"], p["type"], p["key"]) for p in service} == {("critical", "service", "service:web down")}
    assert [p["action_result"] for p in service] == ["success", "suppressed", "suppressed"]
    assert [p["bead_id"] for p in service] == ["argus-t1", None, None]
    orphan = [p for p in problems if p["action_taken"].startswith("orphan_sweep:")]
    assert len(orphan) == 1 and orphan[0]["type"] == "process" and orphan[0]["action_result"] == "success"
    assert orphan[0]["description"].startswith("orphan sweep killed 2 of 2 orphaned processes")
    cleans = [p for p in problems if p["action_taken"] == "clean_disk:safelist"]
    assert [p["action_result"] for p in cleans] == ["success", "success"]

    # clean_disk under the temp host root: entries whose mtime was set back a month minutes ago are
    # young by their ctime (an extracted tarball looks the same) and stay; removing truly old ones
    # is pinned in test_actions_clean_disk.py, where the clock can move past every timestamp.
    assert all(host[name].exists() or host[name].is_symlink() for name in host)
    assert outside.read_text() == "must survive"

    # The audit trail and what `argus last` shows.
    cycles = [json.loads(line) for line in (state / "cycles.jsonl").read_text().splitlines()]
    assert [c["status"] for c in cycles] == ["ok"] * 4
    assert {(c["decider"], c["llm_skip_reason"], c["dry_run"]) for c in cycles} == {("rules", "no_api_key", False)}
    assert [c["orphan_sweep"]["seen_cycles"] for c in cycles] == [1, 2, 3, 0]
    last = run_argus("last", "--json", env=env)
    assert last.returncode == 0 and json.loads(last.stdout)["cycle"] == cycles[-1]
    assert {r["status"] for r in json.loads(last.stdout)["decision"]["results"]} <= {"success", "suppressed"}

    # bd: the bead for the service alert, filed in the beads workdir under the incident's fingerprint.
    creates = [json.loads(x) for x in bd.with_name("bd.calls.jsonl").read_text().splitlines()]
    creates = [c for c in creates if c["argv"][:1] == ["create"]]
    assert creates and creates[0]["cwd"] == argus_env["ARGUS_BEADS_WORKDIR"]
    assert re.search(r"^Problem key: service:web down$", creates[0]["argv"][4], re.M)

    # No secret anywhere an operator (or an attacker) could read.
    assert not [p for p in state.rglob("*") if p.is_file() and telegram.token.encode() in p.read_bytes()]


def _gone(marker: Path, within: float = 10.0) -> bool:
    """The runners' test children die with them (their memory is what the sweep is for)."""
    deadline = time.monotonic() + within
    while node_processes(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True

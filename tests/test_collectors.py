"""Collectors against real resources: sockets, HTTP servers, processes, tmux, files."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_http import closed_port, status_server
from helpers_pidns import run_in_pidns

from argus_cli.collectors import CollectorSpec, collect_snapshot, default_collectors
from argus_cli.collectors.context import CollectContext
from argus_cli.collectors.orphans import describe
from argus_cli.collectors.processes import etime
from argus_cli.config import load
from argus_cli.processes import Orphan
from argus_cli.snapshot import CgroupMemory, to_json

ETIME = re.compile(r"^(\d+-)?(\d{2}:)?\d{2}:\d{2}$")


def ctx_for(env: dict[str, str], **overrides: str) -> CollectContext:
    return CollectContext(load({**env, **overrides}))


def collected(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """collect_snapshot's result as ``argus collect --json`` prints it."""
    return json.loads(json.dumps(to_json(collect_snapshot(*args, **kwargs))))


def only(name: str) -> list[CollectorSpec]:
    return [spec for spec in default_collectors() if spec.name == name]


@pytest.fixture
def http_server() -> Iterator[str]:
    with status_server() as url:
        yield url


@pytest.fixture
def tcp_listener() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def test_services_up_down_unknown(argus_env, http_server, tcp_listener, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", argus_env["PATH"])  # the systemctl stand-in comes first
    systemctl = tmp_path / "bin" / "systemctl"
    systemctl.write_text("#!/bin/sh\n[ \"$3\" = good.service ] && { echo active; exit 0; }\necho inactive; exit 3\n")
    systemctl.chmod(0o755)
    services = ",".join([
        f"web={http_server}/204", f"notfound={http_server}/404", f"broken={http_server}/503",
        f"db=tcp:127.0.0.1:{tcp_listener}", f"closed=tcp:127.0.0.1:{closed_port()}",
        f"refused=http://127.0.0.1:{closed_port()}/", "nxhost=tcp:no-such-host.invalid:80",
        "good=systemd:good.service", "bad=systemd:bad.service",
    ])
    snap = collected(ctx_for(argus_env, ARGUS_SERVICES=services), only("services"))
    status = {s["name"]: s["status"] for s in snap["services"]}
    assert status == {"web": "up", "notfound": "down", "broken": "down", "db": "up", "closed": "down",
                      "refused": "down", "nxhost": "unknown", "good": "up", "bad": "down"}
    assert snap["errors"] == []


def test_systemd_check_without_systemctl_is_unknown(argus_env, monkeypatch):
    monkeypatch.setenv("PATH", argus_env["PATH"].split(os.pathsep)[0])  # an empty bin dir only
    snap = collected(ctx_for(argus_env, ARGUS_SERVICES="x=systemd:x.service"), only("services"))
    assert snap["services"][0]["status"] == "unknown"


def test_orphans_counted_with_age_and_identity(argus_env, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    (tmp_path / "sleepy.test.js").write_text("setTimeout(() => {}, 60000);\n")
    env = {**argus_env, "TESTS": str(tmp_path)}
    result = run_in_pidns("""
test = os.path.join(os.environ["TESTS"], "sleepy.test.js")
runners = [orphan("node", "--test", test) for _ in range(2)]
parented = subprocess.Popen(["node", "--test", test])  # its parent lives: not an orphan
time.sleep(2.2)
out = subprocess.run([sys.executable, "-m", "argus_cli", "collect", "--json"], capture_output=True, text=True)
report(runners=runners, orphans=json.loads(out.stdout)["orphans"])
""", env)
    orphans, runners = result["orphans"], result["runners"]
    assert (orphans["count"], orphans["killable"], orphans["pids"]) == (2, 2, runners)
    assert [(p["pid"], p["name"], p["killable"]) for p in orphans["processes"]] == [(r, "node", True) for r in runners]
    assert all(isinstance(p["create_time"], float) for p in orphans["processes"])
    assert 2 <= orphans["oldest_age_seconds"] < 30
    assert orphans["pattern"] == "node.* --test( |$)"


def test_orphans_say_why_not_only_for_those_they_may_not_kill():
    found = [Orphan(7, "node", 100.0, True, ""), Orphan(8, "bash", None, False, "a shell is never killed")]
    report = json.loads(json.dumps(to_json(describe(found, "node", now=160.0))))
    assert report["processes"] == [{"pid": 7, "name": "node", "create_time": 100.0, "killable": True},
                                   {"pid": 8, "name": "bash", "create_time": None, "killable": False,
                                    "why_not": "a shell is never killed"}]
    assert (report["count"], report["killable"], report["pids"], report["oldest_age_seconds"]) == (2, 1, [7, 8], 60)


@pytest.fixture
def tmux_socket(tmp_path) -> Iterator[Path]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    sock = tmp_path / "tmux.sock"
    for name, windows in (("web", 1), ("worker", 3)):
        subprocess.run(["tmux", "-S", str(sock), "new-session", "-d", "-s", name], check=True)
        for _ in range(windows - 1):
            subprocess.run(["tmux", "-S", str(sock), "new-window", "-t", f"={name}"], check=True)
    yield sock
    subprocess.run(["tmux", "-S", str(sock), "kill-server"], check=False, capture_output=True)


def test_tmux_sessions_on_private_socket(argus_env, tmux_socket, tmp_path):
    missing = tmp_path / "no-such.sock"
    snap = collected(ctx_for(argus_env, ARGUS_TMUX_SOCKETS=f"{tmux_socket},{missing}"), only("tmux"))
    live, absent = snap["tmux"]
    assert live["socket"] == str(tmux_socket)
    assert {(s["name"], s["windows"]) for s in live["sessions"]} == {("web", 1), ("worker", 3)}
    assert all(s["created"] > 0 and s["attached"] is False for s in live["sessions"])
    assert absent == {"socket": str(missing), "sessions": [], "detail": "socket does not exist"}
    assert snap["errors"] == []


def test_memory_hog_is_the_big_process(argus_env):
    code = ("import time, sys; b = b'x' * (256 * 1024 * 1024); "
            "sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(60)")
    hog = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert hog.stdout is not None and hog.stdout.readline() == "ready\n"
        snap = collected(ctx_for(argus_env), only("processes"))
        top = snap["memory_hog"]
        assert top["pid"] == hog.pid
        assert top["rss_kb"] > 250 * 1024
        assert ETIME.match(top["runtime"])
        assert top["kill_candidate"] is False  # python is not on the kill allowlist
        assert snap["top_processes"][0] == top and len(snap["top_processes"]) <= 5
        rss = [p["rss_kb"] for p in snap["top_processes"]]
        assert rss == sorted(rss, reverse=True)
    finally:
        hog.kill()
        hog.wait()


@pytest.mark.parametrize(("seconds", "text"), [(0, "00:00"), (65, "01:05"), (3600, "01:00:00"),
                                               (90061, "1-01:01:01"), (-5, "00:00")])
def test_etime_matches_ps(seconds, text):
    assert etime(seconds) == text


def test_etime_agrees_with_real_ps():
    if shutil.which("ps") is None:
        pytest.skip("ps is not installed")
    proc = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(1.1)
        import psutil
        ours = etime(time.time() - psutil.Process(proc.pid).create_time())
        theirs = subprocess.run(["ps", "-o", "etime=", "-p", str(proc.pid)], capture_output=True,
                                text=True, check=True).stdout.strip()
        assert ours in (theirs, "00:01", "00:02")
        assert ETIME.match(theirs)
    finally:
        proc.kill()
        proc.wait()


def test_freshness_stale_and_fresh(argus_env, tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    (old / "sub").mkdir(parents=True)
    new.mkdir()
    (old / "sub" / "f.txt").write_text("x")
    (new / "f.txt").write_text("x")
    week_ago = time.time() - 7 * 86400
    for path in (old / "sub" / "f.txt", old / "sub", old):
        os.utime(path, (week_ago, week_ago))
    spec = f"old={old}:3600,new={new}:3600,gone={tmp_path / 'missing'}:60"
    snap = collected(ctx_for(argus_env, ARGUS_FRESHNESS=spec), only("freshness"))
    by_name = {f["name"]: f for f in snap["freshness"]}
    assert by_name["old"]["stale"] is True and by_name["old"]["age_seconds"] >= 7 * 86400 - 5
    assert by_name["new"]["stale"] is False and by_name["new"]["age_seconds"] < 60
    assert by_name["gone"] == {"name": "gone", "path": str(tmp_path / "missing"), "last_change": None,
                               "age_seconds": None, "stale": True}


def test_failing_and_hung_collectors_become_errors(argus_env):
    def boom(ctx: CollectContext) -> object:
        raise RuntimeError("sensor on fire")

    def hang(ctx: CollectContext) -> object:
        time.sleep(30)
        return ()

    specs = [*only("disks"), CollectorSpec("boom", boom, ("memory", "swap")), CollectorSpec("hang", hang, ("tmux",))]
    started = time.monotonic()
    snap = collected(ctx_for(argus_env), specs, timeout=1.0)
    assert time.monotonic() - started < 5
    assert snap["disks"][0]["path"] == "/"
    assert snap["memory"] is None and snap["swap"] is None and snap["tmux"] == []
    assert snap["errors"] == [{"collector": "boom", "error": "RuntimeError: sensor on fire"},
                              {"collector": "hang", "error": "timed out"}]


def _proc_stat_busy_share() -> float:
    """Busy share since boot, straight from /proc/stat (independent of psutil)."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice; guests are inside user/nice
    total = sum(fields[:8])
    idle = fields[3] + fields[4]
    return 100.0 * (total - idle) / total


def test_cpu_percent_is_the_share_since_the_previous_collect(argus_env):
    first = collected(ctx_for(argus_env), only("system"))["system"]  # no baseline: short sample
    baseline = Path(argus_env["ARGUS_STATE_DIR"]) / "cpu-times.json"
    assert baseline.exists() and 0.0 <= first["cpu_percent"] <= 100.0
    # A baseline of zero counters ten seconds ago makes "since the previous collect" = "since boot".
    from argus_cli.state.files import atomic_write_json
    now = time.time()
    atomic_write_json(baseline, {"ts": now - 10, "busy": 0.0, "idle": 0.0})
    second = CollectContext(load(argus_env), now=now)
    snap = collected(second, only("system"))["system"]
    assert snap["cpu_percent"] == pytest.approx(_proc_stat_busy_share(), abs=1.0)
    assert snap["cpu_count"] >= 1 and len(snap["load"]) == 3 and snap["uptime_seconds"] > 0


def test_cgroup_memory_reads_v2_files(tmp_path):
    from argus_cli.collectors.memory import cgroup_memory

    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cgroup").write_text("0::/system.slice/argus.service\n")
    group = tmp_path / "cg" / "system.slice" / "argus.service"
    group.mkdir(parents=True)
    (group / "memory.current").write_text("536870912\n")
    (group / "memory.max").write_text("1073741824\n")
    assert cgroup_memory(tmp_path / "proc" / "cgroup", tmp_path / "cg") == CgroupMemory(
        current_bytes=536870912, max_bytes=1073741824, percent=50.0)
    (group / "memory.max").write_text("max\n")
    assert cgroup_memory(tmp_path / "proc" / "cgroup", tmp_path / "cg") == CgroupMemory(536870912, None, None)
    (tmp_path / "proc" / "cgroup").write_text("12:memory:/foo\n")  # cgroup v1 only
    assert cgroup_memory(tmp_path / "proc" / "cgroup", tmp_path / "cg") is None

"""The orphan sweep and kill_pid's identity checks, on real processes in a private PID namespace.

Each scenario starts real processes, orphans some of them on purpose (their parent shell exits,
so the namespace's init adopts them) and runs Argus in there; what is still alive afterwards is
the assertion.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers_actions import actions_env
from helpers_pidns import run_in_pidns

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.fixture
def env(argus_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    (tmp_path / "long.test.js").write_text(
        "require('node:test')('long', () => new Promise(r => setTimeout(r, 600000)));\n")
    return actions_env(argus_env, tmp_path, ARGUS_ORPHAN_KILL_THRESHOLD="2",
                       ARGUS_TMUX_SOCKETS=str(tmp_path / "tmux.sock"), TESTS=str(tmp_path))


# Everything that matches the default pattern (node.*--test) and is not an orphan's test worker.
_LOOKALIKES = """
tests = os.environ["TESTS"]
sock = os.path.join(tests, "tmux.sock")
runner = orphan("node", "--test", os.path.join(tests, "long.test.js"))
wait_for(lambda: psutil.Process(runner).children())
[worker] = [p.pid for p in psutil.Process(runner).children()]
spawns_sleep = "require('child_process').spawn('sleep', ['600']); setInterval(()=>{}, 1000)"
with_sleeper = orphan("node", "-e", spawns_sleep, "--", "--test")
wait_for(lambda: psutil.Process(with_sleeper).children())
[sleeper] = [p.pid for p in psutil.Process(with_sleeper).children()]
in_pane = "node --test " + os.path.join(tests, "long.test.js")
subprocess.run(["tmux", "-S", sock, "new-session", "-d", "-s", "t", in_pane], check=True)
tmux_server = next(p.pid for p in psutil.process_iter() if p.name().startswith("tmux"))
wait_for(lambda: psutil.Process(tmux_server).children())
[pane] = [p.pid for p in psutil.Process(tmux_server).children()]
parented_shell = subprocess.Popen(["bash", "-c", "sleep 1000; echo node --test"]).pid
orphaned_shell = orphan("bash", "-c", "sleep 1000; echo node --test")
not_allowlisted = orphan(sys.executable, "-c", "import time; time.sleep(600)", "node", "--test")
# A service's shape: init is its parent and it leads its own session (systemd units, daemons).
service = orphan("setsid", "node", "-e", "setInterval(()=>{}, 1000)", "--", "--test")
"""


def test_the_sweep_kills_only_orphaned_allowlisted_test_runners_and_their_workers(env):
    result = run_in_pidns(_LOOKALIKES + """
from argus_cli.actions.orphan_sweep import sweep_orphans
from argus_cli.config import load
config = load()
reports = [sweep_orphans(config, time.time(), dry_run=False, grace=0.5) for _ in range(2)]
time.sleep(0.3)
names = ["runner", "worker", "with_sleeper", "sleeper", "tmux_server", "pane", "parented_shell",
         "orphaned_shell", "not_allowlisted", "service"]
report(pids={n: globals()[n] for n in names}, alive={n: alive(globals()[n]) for n in names}, reports=reports)
""", env)
    pids, alive, (first, second) = result["pids"], result["alive"], result["reports"]
    assert first["killed"] == [] and (first["count"], len(first["spared"])) == (4, 2)  # killable ones seen once
    assert sorted(second["killed"]) == sorted([pids["runner"], pids["with_sleeper"]])
    assert second["children_killed"] == [pids["worker"]]  # the test worker, not the sleep
    assert {name for name, up in alive.items() if not up} == {"runner", "worker", "with_sleeper"}
    spared = second["spared"]
    # the tmux server and the service lead sessions of their own: not orphans at all
    assert set(spared) == {str(pids[n]) for n in ("orphaned_shell", "not_allowlisted")}
    assert spared[str(pids["orphaned_shell"])] == "a shell"
    assert spared[str(pids["not_allowlisted"])].endswith("is not in ARGUS_KILL_ALLOWLIST")


def test_at_most_max_kills_per_cycle_oldest_first_the_rest_reported(env):
    env = {**env, "ARGUS_ORPHAN_KILL_THRESHOLD": "1", "ARGUS_ORPHAN_MAX_KILLS": "3"}
    result = run_in_pidns("""
from argus_cli.actions.orphan_sweep import sweep_orphans
from argus_cli.config import load
pids = [orphan("node", "-e", "setInterval(()=>{}, 1000)", "--", "--test") for _ in range(5)]
config = load()
first = sweep_orphans(config, time.time(), dry_run=False, grace=0.5)
second = sweep_orphans(config, time.time(), dry_run=False, grace=0.5)
report(pids=pids, first=first, second=second)
""", env)
    pids, first, second = result["pids"], result["first"], result["second"]
    assert first["killed"] == pids[:3] and first["deferred"] == pids[3:]
    assert second["killed"] == pids[3:] and second["deferred"] == []


def test_a_dry_run_and_a_switched_off_sweep_kill_nothing(env):
    result = run_in_pidns("""
from argus_cli.actions.orphan_sweep import sweep_orphans
from argus_cli.config import load
pid = orphan("node", "-e", "setInterval(()=>{}, 1000)", "--", "--test")
load_off = load({**os.environ, "ARGUS_ORPHAN_SWEEP": "false", "ARGUS_ORPHAN_KILL_THRESHOLD": "1"})
off = sweep_orphans(load_off, time.time(), dry_run=False, grace=0.5)
dry = sweep_orphans(load({**os.environ, "ARGUS_ORPHAN_KILL_THRESHOLD": "1"}), time.time(), dry_run=True, grace=0.5)
report(pid=pid, off=off, dry=dry, alive=alive(pid))
""", env)
    assert result["alive"]
    assert result["off"]["enabled"] is False and result["off"]["due"] == [result["pid"]]
    assert result["off"]["killed"] == [] and result["dry"]["killed"] == []


@pytest.mark.parametrize("pattern", ["", ".*", "^", "(?:)", "."])
def test_a_pattern_that_matches_everything_stops_argus_before_it_kills(env, tmp_path, pattern):
    (tmp_path / "argus.env").write_text(f"ARGUS_ORPHAN_PATTERN='{pattern}'\nARGUS_ORPHAN_KILL_THRESHOLD=1\n")
    env = {**env, "ARGUS_ENV_FILE": str(tmp_path / "argus.env")}
    result = run_in_pidns("""
victims = [orphan("node", "-e", "setInterval(()=>{}, 1000)"), orphan("sleep", "600")]
runs = [subprocess.run([sys.executable, "-m", "argus_cli", "cycle"], capture_output=True, text=True)
        for _ in range(2)]
report(codes=[r.returncode for r in runs], stderr=runs[0].stderr, alive=[alive(p) for p in victims])
""", env)
    assert result["codes"] == [2, 2]
    assert "ARGUS_ORPHAN_PATTERN" in result["stderr"]
    assert result["alive"] == [True, True]


def test_a_cycle_records_the_sweep_with_string_keys(env):
    env = {**env, "ARGUS_ORPHAN_KILL_THRESHOLD": "1", "ARGUS_DECIDER": "rules"}
    result = run_in_pidns("""
pid = orphan("node", "-e", "setInterval(()=>{}, 1000)", "--", "--test")
shell = orphan("bash", "-c", "sleep 600; echo node --test")
run = subprocess.run([sys.executable, "-m", "argus_cli", "cycle", "--json"], capture_output=True, text=True)
report(pid=pid, shell=shell, code=run.returncode, line=json.loads(run.stdout), out=run.stderr)
""", env)
    sweep = result["line"]["orphan_sweep"]
    assert result["code"] == 0, result["out"]
    assert sweep["killed"] == [result["pid"]]
    assert sweep["spared"] == {str(result["shell"]): "a shell"}


def test_the_count_survives_start_time_jitter_and_wrong_typed_state(env):
    """psutil's create_time moves with /proc/stat's btime (by up to a second between reads): the
    same process keeps its count. A hand-edited orphans.json never stops the sweep."""
    result = run_in_pidns("""
from argus_cli.actions.orphan_sweep import sweep_orphans
from argus_cli.state.layout import ORPHANS
from argus_cli.config import load
config = load()
pid = orphan("node", "-e", "setInterval(()=>{}, 1000)", "--", "--test")
ORPHANS.path(config.state_dir).parent.mkdir(parents=True, exist_ok=True)
ORPHANS.path(config.state_dir).write_text(json.dumps({"seen_cycles": "x", "pids": {str(pid): {"seen": [1]}}}))
first = sweep_orphans(config, time.time(), dry_run=False, grace=0.5)
state = json.loads(ORPHANS.path(config.state_dir).read_text())
state["pids"][str(pid)]["create_time"] += 0.6
ORPHANS.path(config.state_dir).write_text(json.dumps(state))
second = sweep_orphans(config, time.time(), dry_run=False, grace=0.5)
report(pid=pid, first=first, second=second, alive=alive(pid))
""", env)
    assert result["first"]["seen_cycles"] == 1 and result["first"]["killed"] == []
    assert result["second"]["killed"] == [result["pid"]] and not result["alive"]


# --- kill_pid: the target must be a process the decider was shown, and still be it ------------

_TMUX_NODE = """
tests = os.environ["TESTS"]
sock = os.path.join(tests, "tmux.sock")
subprocess.run(["tmux", "-S", sock, "new-session", "-d", "-s", "agents", "node -e 'setInterval(()=>{},1000)'"],
               check=True)
server = next(p.pid for p in psutil.process_iter() if p.name().startswith("tmux"))
wait_for(lambda: psutil.Process(server).children()[0].name() == "node")
pane = psutil.Process(server).children()[0].pid

def argus(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "argus_cli", *args], input=stdin, capture_output=True, text=True)

def act(decision, *args):
    out = argus("act", "--decision", "-", "--json", *args, stdin=json.dumps(decision))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)[0]

kill = lambda pid: {"type": "kill_pid", "target": pid, "reason": "runaway"}
"""


def test_kill_pid_needs_the_snapshot_the_decision_was_made_from(env, tmp_path):
    result = run_in_pidns(_TMUX_NODE + """
snap_file = os.path.join(tests, "snap.json")
assert argus("collect", "--out", snap_file).returncode == 0
snapshot = json.load(open(snap_file))
late = subprocess.Popen(["node", "-e", "setInterval(()=>{},1000)"]).pid  # started after the snapshot
wait_for(lambda: psutil.Process(late).name() == "node")
bare = act({"actions": [kill(pane)]})
unlisted = act({"actions": [kill(late)], "snapshot": snapshot})
still_up = alive(pane) and alive(late)
listed = act({"actions": [kill(pane)], "snapshot": snapshot})
wait_for(lambda: not alive(pane))
report(snapshot=snapshot, pane=pane, bare=bare, unlisted=unlisted, listed=listed, still_up=still_up,
       late_alive=alive(late))
""", env)
    panes = [p for server in result["snapshot"]["tmux"] for s in server["sessions"] for p in s["panes"]]
    assert [(p["pid"], p["name"]) for p in panes] == [(result["pane"], "node")]
    assert result["bare"]["status"] == "rejected" and "--snapshot" in result["bare"]["detail"]
    assert result["unlisted"]["status"] == "rejected"
    assert "not a process the snapshot showed" in result["unlisted"]["detail"]
    assert result["still_up"] and result["late_alive"]
    assert result["listed"]["status"] == "success", result["listed"]["detail"]


def test_act_with_snapshot_file_checks_the_start_time(env, tmp_path):
    result = run_in_pidns(_TMUX_NODE + """
snap_file = os.path.join(tests, "snap.json")
assert argus("collect", "--out", snap_file).returncode == 0
snapshot = json.load(open(snap_file))
for server in snapshot["tmux"]:
    for session in server["sessions"]:
        for p in session["panes"]:
            p["create_time"] -= 60  # as if the PID had since been reused by another node
json.dump(snapshot, open(snap_file, "w"))
reused = act({"actions": [kill(pane)]}, "--snapshot", snap_file)
report(reused=reused, alive=alive(pane))
""", env)
    assert result["reused"]["status"] == "rejected" and "reused" in result["reused"]["detail"]
    assert result["alive"]


def test_kill_tmux_and_the_collector_ignore_an_inherited_TMUX(env, tmp_path):
    """Run by hand inside tmux, Argus must not talk to that server instead of the configured one."""
    result = run_in_pidns("""
tests = os.environ["TESTS"]
other = os.path.join(tests, "other.sock")
subprocess.run(["tmux", "-S", other, "new-session", "-d", "-s", "victim"], check=True)
pid = subprocess.run(["tmux", "-S", other, "display", "-p", "#{pid}"], capture_output=True, text=True).stdout.strip()
env = {**os.environ, "TMUX": f"{other},{pid},0", "ARGUS_TMUX_SOCKETS": "default"}
decision = json.dumps({"actions": [{"type": "kill_tmux", "target": "victim", "reason": "stuck"}]})
out = subprocess.run([sys.executable, "-m", "argus_cli", "act", "--decision", "-", "--json"], input=decision,
                     capture_output=True, text=True, env=env)
snap = subprocess.run([sys.executable, "-m", "argus_cli", "collect", "--json"], capture_output=True, text=True,
                      env=env)
still = subprocess.run(["tmux", "-S", other, "has-session", "-t", "=victim"]).returncode == 0
report(result=json.loads(out.stdout)[0], tmux=json.loads(snap.stdout)["tmux"], still=still)
""", env)
    assert result["still"], "argus killed a session on a server it was not configured for"
    assert result["result"]["status"] == "rejected"
    assert result["tmux"] == [{"socket": "default", "sessions": [], "detail": "no server running"}]


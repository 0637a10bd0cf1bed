"""Silences (control/silences.py, `argus silence`): through the real CLI against a temp state dir,
and the store's rules with an injected clock."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_permissions import Nobody, nobody  # noqa: F401 - the shared non-root runner (a fixture)

from argus_cli.config import Config, load
from argus_cli.control import silences
from argus_cli.state.layout import INCIDENTS, SILENCES, SILENCES_LOCK, Incident, Incidents, Silence, Silences
from argus_cli.state.lock import FileLock, LockBusy

ADDED = re.compile(r"silence ([0-9a-f]{6}) on (\S+) until \d{4}-\d\d-\d\d \d\d:\d\d UTC \((.+?)\): (.*)")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
HINT = "run as root or set ARGUS_STATE_DIR"
T0 = 1_800_000_000.0  # the injected clock


def _state(env: dict[str, str]) -> Path:
    return Path(env["ARGUS_STATE_DIR"])


def _add(run_argus: Any, env: dict[str, str], pattern: str = "service:*", duration: str = "2h",
         reason: str = "deploy of the gateway") -> str:
    proc = run_argus("silence", "add", pattern, "--for", duration, "--reason", reason, env=env)
    assert proc.returncode == 0, proc.stderr
    match = ADDED.match(proc.stdout.splitlines()[0])
    assert match, proc.stdout
    return match.group(1)


def _listed(run_argus: Any, env: dict[str, str], *flags: str) -> list[dict[str, Any]]:
    proc = run_argus("silence", "list", "--json", *flags, env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    value: list[dict[str, Any]] = json.loads(proc.stdout)
    return value


def _one_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    said = f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    assert proc.returncode == code and "Traceback" not in proc.stderr, said
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("argus: "), said
    return lines[0]


@pytest.fixture
def config(isolated_machine: Path) -> Config:
    return load()


# --- the CLI ----------------------------------------------------------------------------------------

def test_add_list_expire_round_trip(argus_env: dict[str, str], run_argus: Any) -> None:
    proc = run_argus("silence", "add", "service:*", "--for", "2h", "--reason", "deploy of the gateway", env=argus_env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    match = ADDED.fullmatch(proc.stdout.strip())  # no incident book yet: one line only
    assert match and match.groups()[1:] == ("service:*", "2 h", "deploy of the gateway"), proc.stdout
    sid = match.group(1)
    other = _add(run_argus, argus_env, "disk:/var*", "90s", "log rotation")

    listed = run_argus("silence", "list", env=argus_env)
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert [r.split()[0] for r in rows] == [other, sid]  # the first to end first
    assert "disk:/var*" in rows[0] and re.search(r"\(\d+ s left\)", rows[0])
    assert re.search(r"until .* UTC \(1 h 5\d min left\)  by \S+: deploy of the gateway$", rows[1]), rows[1]

    expired = run_argus("silence", "expire", sid, env=argus_env)
    assert expired.returncode == 0, expired.stderr
    assert expired.stdout == (f"silence {sid} on service:* ended; the next cycle announces it "
                              "and notifies what is still open\n")
    stored = SILENCES.read(_state(argus_env))
    assert stored is not None and stored.silences[sid].expired_by and not stored.silences[sid].announced
    assert stored.silences[sid].ends <= time.time()

    assert run_argus("silence", "expire", other, env=argus_env).returncode == 0
    nothing = run_argus("silence", "list", env=argus_env)
    assert nothing.stdout == "no active silences (2 ended kept: argus silence list --all)\n"
    everything = run_argus("silence", "list", "--all", env=argus_env).stdout.splitlines()
    assert everything[0] == "no active silences" and len(everything) == 3
    assert all("ended " in row and "(expired early by " in row for row in everything[1:])


def test_list_json_has_its_keys(argus_env: dict[str, str], run_argus: Any) -> None:
    assert _listed(run_argus, argus_env) == []
    first, second = _add(run_argus, argus_env, "service:gateway"), _add(run_argus, argus_env, "*", "7d")
    assert run_argus("silence", "expire", first, env=argus_env).returncode == 0
    (only,) = _listed(run_argus, argus_env)
    assert {"id", "pattern", "reason", "created", "ends", "by", "expired_by", "announced", "active"} <= set(only)
    assert (only["id"], only["pattern"], only["active"], only["expired_by"]) == (second, "*", True, None)
    assert ISO.fullmatch(only["created"]) and ISO.fullmatch(only["ends"])
    both = _listed(run_argus, argus_env, "--all")
    assert [(s["id"], s["active"]) for s in both] == [(second, True), (first, False)]
    assert isinstance(both[1]["expired_by"], str) and both[1]["expired_by"]


BAD_INPUT = [
    (("service:*", "--reason", "r"), "needs --for"),
    (("service:*", "--for", "8d", "--reason", "r"), "within 7 days"),
    (("service:*", "--for", "0s", "--reason", "r"), "at least 1 min"),
    (("service:*", "--for", "-60", "--reason", "r"), "at least 1 min"),
    (("service:*", "--for", "1h30m", "--reason", "r"), "no duration"),
    (("service:*", "--for", "2h"), "needs --reason"),
    (("service:*", "--for", "2h", "--reason", " \t\x1b[0m "), "needs a reason"),
    (("servic:gateway", "--for", "2h", "--reason", "r"), 'no subject kind "servic"; did you mean "service"?'),
    (("service:gate\nway", "--for", "2h", "--reason", "r"), r'"service:gate\nway": a pattern holds no spaces'),
    (("\x1b[31m*", "--for", "2h", "--reason", "r"), r'"\x1b[31m*": a pattern holds no spaces'),
    (("memory:x", "--for", "2h", "--reason", "r"), "has no name"),
    (("disk", "--for", "2h", "--reason", "r"), "use disk:NAME or disk:*"),
    (("x" * 129, "--for", "2h", "--reason", "r"), "1 to 128 characters"),
    (("  ", "--for", "2h", "--reason", "r"), "1 to 128 characters"),
]


@pytest.mark.parametrize(("args", "said"), BAD_INPUT, ids=[a[1] for a in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(args: tuple[str, ...], said: str,
                                                          argus_env: dict[str, str], run_argus: Any) -> None:
    _add(run_argus, argus_env)
    path = SILENCES.path(_state(argus_env))
    before = path.read_bytes()
    proc = run_argus("silence", "add", *args, env=argus_env)
    line = _one_line(proc, 2)
    assert said in line and "\x1b" not in proc.stderr, line
    assert proc.stdout == "" and path.read_bytes() == before


def test_expire_refuses_an_unknown_id_and_an_ended_one(argus_env: dict[str, str], run_argus: Any) -> None:
    sid = _add(run_argus, argus_env)
    unknown = _one_line(run_argus("silence", "expire", "abcdef", env=argus_env), 2)
    assert '"abcdef"' in unknown and sid in unknown and "list --all" in unknown
    assert run_argus("silence", "expire", sid.upper(), env=argus_env).returncode == 0  # ids are read as typed
    again = _one_line(run_argus("silence", "expire", sid, env=argus_env), 1)
    assert re.search(rf"silence {sid} on service:\* already ended at \d{{4}}-.* UTC \(expired by \S+\)", again)


def test_a_new_silence_says_which_open_incidents_it_covers(argus_env: dict[str, str], run_argus: Any) -> None:
    def incident(subject: str, condition: str, absent: int = 0) -> Incident:
        return Incident(id=subject, subject=subject, condition=condition, severity="critical", worst="critical",
                        text="t", opened=T0, last_seen=T0, absent=absent)
    book = Incidents(open={f"{s} {c}": incident(s, c, a) for s, c, a in (
        ("service:gateway", "down", 0), ("service:web", "down", 0), ("service:old", "down", 1),
        ("disk:/", "usage>=crit", 0))})
    INCIDENTS.write(_state(argus_env), book)
    lines = run_argus("silence", "add", "service:*", "--for", "1h", "--reason", "r", env=argus_env).stdout.splitlines()
    assert lines[1] == "it covers 2 open incidents: service:gateway down, service:web down"
    lines = run_argus("silence", "add", "disk:/", "--for", "1h", "--reason", "r", env=argus_env).stdout.splitlines()
    assert lines[1] == "it covers 1 open incident: disk:/ usage>=crit"
    lines = run_argus("silence", "add", "tmux:*", "--for", "1h", "--reason", "r", env=argus_env).stdout.splitlines()
    assert lines[1] == "it matches no open incident now"


def test_concurrent_adds_lose_nothing(argus_env: dict[str, str]) -> None:
    procs = [subprocess.Popen([sys.executable, "-m", "argus_cli", "silence", "add", f"service:svc{n}", "--for", "1h",
                               "--reason", f"reason {n}"], env=argus_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in range(8)]
    outcomes = [(p.wait(timeout=60), p.communicate()) for p in procs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    stored = SILENCES.read(_state(argus_env))
    assert stored is not None
    assert sorted(s.pattern for s in stored.silences.values()) == sorted(f"service:svc{n}" for n in range(8))
    assert len({s.id for s in stored.silences.values()}) == 8


def test_a_corrupt_store_is_reported_and_the_cli_keeps_working(argus_env: dict[str, str], run_argus: Any) -> None:
    state = _state(argus_env)
    state.mkdir(mode=0o700)
    path = SILENCES.path(state)
    path.write_bytes(b"{not json")
    listed = run_argus("silence", "list", env=argus_env)  # a reader leaves it for the lock holder
    # and says it cannot tell: "no active silences" would be a guess
    assert listed.returncode == 1 and listed.stdout == ""
    assert "unusable" in _one_line(listed, 1) and path.read_bytes() == b"{not json"

    added = run_argus("silence", "add", "load", "--for", "15m", "--reason", "benchmark", env=argus_env)
    line = _one_line(added, 0)
    assert "corrupt" in line and "moved aside" in line, line
    (aside,) = state.glob("silences.json.corrupt-*")
    assert aside.read_bytes() == b"{not json"
    assert [s["pattern"] for s in _listed(run_argus, argus_env)] == ["load"]


def test_hostile_reason_is_stored_clean_and_printed_safely(argus_env: dict[str, str], run_argus: Any) -> None:
    reason = "\x1b[31mred\x1b[0m alert\x1b]0;owned\x07 \n\r\x00x\u202e" + "A" * 10_240
    proc = run_argus("silence", "add", "*", "--for", "1h", "--reason", reason.replace("\x00", ""), env=argus_env)
    assert proc.returncode == 0, proc.stderr
    (stored,) = SILENCES.read(_state(argus_env)).silences.values()  # type: ignore[union-attr]
    assert stored.reason.startswith("red alert xAAA") and len(stored.reason) == silences.REASON_MAX
    assert stored.reason.isprintable() and stored.reason.endswith("…")
    for out in (proc.stdout, run_argus("silence", "list", env=argus_env).stdout):
        assert "\x1b" not in out and "\r" not in out and len(out.splitlines()) == 1


def test_a_hand_edited_store_prints_no_terminal_escapes(argus_env: dict[str, str], run_argus: Any) -> None:
    evil = Silence(id="abc123", pattern="*\x1b[2J", reason="\x1b]52;c;ZWNobyBvd25lZA==\x07\nsecond line",
                   created=time.time(), ends=time.time() + 600, by="\x1b[31mroot")
    SILENCES.write(_state(argus_env), Silences(silences={"abc123": evil}))
    out = run_argus("silence", "list", env=argus_env).stdout
    assert out.startswith("abc123") and "\x1b" not in out and "\x07" not in out and len(out.splitlines()) == 1


# --- the store, with an injected clock -----------------------------------------------------------------

def test_covering_picks_the_matching_silence_that_ends_last(config: Config) -> None:
    broad = silences.add(config, "service:*", 3600, "deploy", now=T0, by="alice")
    narrow = silences.add(config, "service:gateway", 7200, "gateway", now=T0, by="bob")
    disks = silences.add(config, "disk:/var*", 600, "logs", now=T0, by="carol")
    store = SILENCES.read(config.state_dir)
    assert store is not None
    assert silences.covering(store, "service:gateway", T0 + 1) == narrow
    assert silences.covering(store, "service:web", T0 + 1) == broad
    assert silences.covering(store, "disk:/var/log", T0 + 1) == disks
    assert silences.covering(store, "disk:/", T0 + 1) is None
    assert silences.covering(store, "Service:gateway", T0 + 1) is None  # case counts
    assert silences.covering(store, "service:gateway", T0 + 7200) is None  # narrow ended, broad before it
    everything = silences.add(config, "*", 7 * 86400, "maintenance", now=T0, by="dan")
    store = SILENCES.read(config.state_dir)
    assert store is not None and silences.covering(store, "decider", T0 + 1) == everything


def test_a_silence_is_active_until_the_second_it_ends(config: Config) -> None:
    silence = silences.add(config, "memory", 60, "r", now=T0, by="t")
    store = SILENCES.read(config.state_dir)
    assert store is not None and silence.ends == T0 + 60
    assert silences.active(store, silence.ends - 1) == [silence]
    assert silences.covering(store, "memory", silence.ends - 1) == silence
    assert silences.active(store, silence.ends) == [] and silences.covering(store, "memory", silence.ends) is None
    assert silences.ended_unannounced(store, silence.ends - 1) == []
    assert silences.ended_unannounced(store, silence.ends) == [silence]


def test_announced_silences_are_pruned_a_week_after_they_end(config: Config) -> None:
    silence = silences.add(config, "swap", 600, "r", now=T0, by="t")
    silences.mark_announced(config, [silence.id, "zzzzzz"], now=silence.ends)
    unannounced = silences.add(config, "load", 600, "r", now=T0, by="t")
    week = silences.KEEP_SECONDS
    silences.mark_announced(config, [], now=silence.ends + week)  # a week to the second: still kept
    store = SILENCES.read(config.state_dir)
    assert store is not None and set(store.silences) == {silence.id, unannounced.id}
    assert silences.ended_unannounced(store, silence.ends) == [unannounced]
    silences.add(config, "orphans", 600, "r", now=silence.ends + week + 1, by="t")  # any write prunes
    store = SILENCES.read(config.state_dir)
    assert store is not None and silence.id not in store.silences and unannounced.id in store.silences


def test_the_store_stays_within_its_bound(config: Config) -> None:
    with silences.editing(config, T0) as store:
        for n in range(100):
            sid = f"{n:06x}"
            store.silences[sid] = Silence(id=sid, pattern="memory", reason="r", created=T0 - 100 + n,
                                          ends=T0 - 100 + n, by="t")  # all ended, n = 0 first
    added = silences.add(config, "swap", 600, "r", now=T0, by="t")
    store = SILENCES.read(config.state_dir)
    assert store is not None and len(store.silences) == 100
    assert "000000" not in store.silences and {"000001", added.id} <= set(store.silences)

    with silences.editing(config, T0) as store:
        store.silences = {f"{n:06x}": Silence(id=f"{n:06x}", pattern="memory", reason="r", created=T0,
                                              ends=T0 + 600, by="t") for n in range(100)}
    with pytest.raises(ValueError, match="100 silences are active already"):
        silences.add(config, "swap", 600, "r", now=T0, by="t")


def test_a_held_lock_is_waited_for_then_refused(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    config.state_dir.mkdir(mode=0o700)
    lock = FileLock(config.state_dir / SILENCES_LOCK)
    lock.acquire()
    threading.Timer(0.3, lock.release).start()  # a cycle's short hold: waited for
    assert silences.add(config, "memory", 600, "r", now=T0, by="t").pattern == "memory"
    monkeypatch.setattr(silences, "LOCK_WAIT", 0.2)
    with FileLock(config.state_dir / SILENCES_LOCK), pytest.raises(LockBusy, match=r"stayed held .* try again"):
        silences.add(config, "swap", 600, "r", now=T0, by="t")
    assert len(SILENCES.read(config.state_dir).silences) == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("pattern", ["*", "service:*", "service:gateway", "disk:/var*", "disk:/", "memory",
                                     "decider", "tmux:sess", "collector:disks", "freshness:backup", "s*",
                                     "*:gateway", " process:node "])
def test_patterns_that_can_match_a_subject(pattern: str) -> None:
    assert silences.validate_pattern(pattern) == pattern.strip()


@pytest.mark.parametrize(("pattern", "said"), [
    ("servic:gateway", '"servic:gateway": no subject kind "servic"; did you mean "service"? (known: memory,'),
    ("q*:x", 'no subject kind matches "q*"'), ("service:", "use service:NAME or service:*"),
    ("swap:x", "a swap subject has no name"), ("disk:/my disk", "no spaces"), ("disk:/\u200b", "control"),
])
def test_patterns_that_cannot(pattern: str, said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        silences.validate_pattern(pattern)


# --- as a user who may not write the state dir ---------------------------------------------------------

def test_a_root_owned_state_dir_is_one_line_with_the_fix(nobody: Nobody) -> None:  # noqa: F811
    base = Path(os.path.realpath(nobody.base))
    state = base / f"silence-{os.getpid()}" / "state"
    state.mkdir(parents=True, mode=0o755)
    state.parent.chmod(0o755)
    SILENCES.write(state, Silences(silences={"abc123": Silence(
        id="abc123", pattern="memory", reason="r", created=time.time(), ends=time.time() + 600, by="root")}))
    before = SILENCES.path(state).read_bytes()
    listed = nobody.run("silence", "list", state=state)
    assert listed.returncode == 0 and listed.stdout.startswith("abc123"), listed.stderr
    for args in (("add", "swap", "--for", "1h", "--reason", "r"), ("expire", "abc123")):
        line = _one_line(nobody.run("silence", *args, state=state), 1)
        assert str(state) in line and HINT in line, line
    assert SILENCES.path(state).read_bytes() == before
    state.chmod(0o700)
    line = _one_line(nobody.run("silence", "list", state=state), 1)
    assert str(state) in line and HINT in line, line

"""The disk forecast, the summary line and patterns detect at their edges (found by a red-team
review): hostile or misdated metrics lines, a full or vanished disk, a spike, Prometheus labels,
an unreadable metrics file, a bd that half works, a held lock."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_incidents import disk_host
from test_permissions import nobody  # noqa: F401 - a fixture

from argus_cli.model import iso_z
from argus_cli.reports.trends import disk_trends

STEP = 300


def write(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))


def ramp(now, days, start, slope, path="/"):
    step = STEP
    count = int(days * 86400 / step)
    return [{"ts": iso_z(now - (count - 1 - i) * step),
             "disk": {path: round(start + slope * (i * step) / 86400, 3)}} for i in range(count)]


# --- forecast correctness -----------------------------------------------------------------------

def test_one_line_from_the_future_poisons_the_forecast(tmp_path):
    """A clock once set forward (2030) leaves one line no window ever drops: it becomes 'the
    latest reading' and drags the fitted slope, for years."""
    now = time.time()
    lines = ramp(now, 7, 60.0, 2.0)  # 60 -> 74 %, 2 %/day: ~13 days to full
    write(tmp_path / "metrics.jsonl", lines)
    [before], _ = disk_trends(tmp_path, now, 7)
    assert before.rate_per_day == pytest.approx(2.0, abs=0.05)
    future = {"ts": "2030-01-01T00:00:00Z", "disk": {"/": 10.0}}
    write(tmp_path / "metrics.jsonl", [*lines[:-1], future, lines[-1]])
    [after], _ = disk_trends(tmp_path, now, 7)
    # expected: the future line is ignored, the trend stays 2 %/day
    assert after.percent == pytest.approx(lines[-1]["disk"]["/"]), after
    assert after.rate_per_day == pytest.approx(2.0, abs=0.1), after


def test_a_full_flat_disk_is_not_info(tmp_path):
    """A disk stuck at 100 % (it is full: nothing more can be written) is 'not filling' and
    severity info, days_to_full None."""
    now = time.time()
    write(tmp_path / "metrics.jsonl", ramp(now, 2, 100.0, 0.0))
    [full], _ = disk_trends(tmp_path, now, 7)
    assert full.percent == 100.0
    assert full.severity == "critical", full.to_dict()


def test_a_single_spike_decides_the_severity(tmp_path):
    """README: severity 'from the forecast, not from one reading'; yet days_to_full starts from the
    latest reading: one transient 99 % reading on a disk at 80 % filling 0.5 %/day (40 days) is
    'critical'."""
    now = time.time()
    lines = ramp(now, 7, 76.5, 0.5)
    lines[-1]["disk"]["/"] = 99.0
    write(tmp_path / "metrics.jsonl", lines)
    [t], _ = disk_trends(tmp_path, now, 7)
    assert t.rate_per_day == pytest.approx(0.5, abs=0.1)
    assert t.severity != "critical", t.to_dict()


def test_a_disk_gone_for_days_keeps_a_stale_forecast(tmp_path):
    """A disk last seen 5 days ago filling 10 %/day at 80 % is reported with 'percent' 80 and
    days_to_full 2 (critical) as if measured now; it says nothing about the reading's age."""
    now = time.time()
    old = ramp(now - 5 * 86400, 1, 70.0, 10.0, path="/mnt/gone")
    recent = ramp(now, 5, 50.0, 0.0, path="/")
    write(tmp_path / "metrics.jsonl", [*old, *recent])
    trends, _ = disk_trends(tmp_path, now, 7)
    gone = next(t for t in trends if t.path == "/mnt/gone")
    # Either dropped, or its age is visible / forecast counted from now (it would be full already).
    assert "last_seen" in gone.to_dict() or gone.days_to_full is None, gone.to_dict()


def test_twelve_lines_from_a_clock_set_back_hide_the_whole_window(tmp_path):
    """An hour of cycles stamped 2000-01-01 (dead RTC, NTP late) at the end of the file: the
    reader stops there and all of the week's readings are gone: 'no disk measurements'."""
    now = time.time()
    lines = ramp(now, 7, 60.0, 2.0)
    bogus = [{"ts": iso_z(946684800 + i * STEP), "disk": {"/": 74.0}} for i in range(12)]
    write(tmp_path / "metrics.jsonl", [*lines, *bogus])
    trends, _ = disk_trends(tmp_path, now, 7)
    assert trends and trends[0].points == len(lines), trends


def test_hostile_values_are_skipped(tmp_path):
    now = time.time()
    lines = ramp(now, 2, 50.0, 1.0)
    raw = [json.dumps(x) for x in lines]
    hostile = ['{"ts": "%s", "disk": {"/": NaN}}', '{"ts": "%s", "disk": {"/": Infinity}}',
               '{"ts": "%s", "disk": {"/": 1e308}}', '{"ts": "%s", "disk": {"/": -5}}',
               '{"ts": "%s", "disk": {"/": "90"}}', '{"ts": "%s", "disk": {"/": true}}',
               '{"ts": "%s", "disk": [1,2]}', '{"ts": "%s", "disk": {"/": null}}', '{"ts": 5}', '[]', '"x"']
    ts = iso_z(now - 60)
    raw += [h % ts if "%s" in h else h for h in hostile]
    write(tmp_path / "metrics.jsonl", raw)
    [t], _ = disk_trends(tmp_path, now, 7)
    assert t.points == len(lines)
    assert t.rate_per_day == pytest.approx(1.0, abs=0.05)


def test_duplicate_and_same_time_readings(tmp_path):
    now = time.time()
    ts = iso_z(now - 100)
    write(tmp_path / "metrics.jsonl", [{"ts": ts, "disk": {"/": 50.0 + i}} for i in range(50)])
    [t], _ = disk_trends(tmp_path, now, 7)
    assert t.rate_per_day is None  # zero span: no trend, no ZeroDivisionError


# --- Prometheus / output with hostile paths ---------------------------------------------------------

def _flat(now, path):
    return [{"ts": iso_z(now - (599 - i) * STEP), "disk": {path: 50.0 + i * 0.01}} for i in range(600)]


def test_prometheus_with_a_lone_surrogate_path(argus_env, run_argus):
    """A path key "\\udc80" (valid JSON) in metrics.jsonl: the textfile must still be written."""
    now = time.time()
    state = Path(argus_env["ARGUS_STATE_DIR"])
    lines = [json.dumps(x).replace("PLACEHOLDER", "\\udc80") for x in _flat(now, "/srv/PLACEHOLDER")]
    write(state / "metrics.jsonl", lines)
    out = Path(argus_env["ARGUS_STATE_DIR"]).parent / "argus.prom"
    proc = run_argus("stats", "--format", "prometheus", "--out", str(out), env=argus_env)
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert proc.returncode == 0 and out.exists(), proc.stderr
    proc = run_argus("stats", "--format", "prometheus", env=argus_env)
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
    proc = run_argus("stats", "--json", env=argus_env)
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]


@pytest.mark.parametrize("path", ['/a"b', "/a\\b", "/a\nb", "/a\rb", "/a\u2028b", "/" + "x" * 100000, "/a}b{c=\"d\""])
def test_prometheus_labels_stay_parseable(argus_env, run_argus, path):
    now = time.time()
    state = Path(argus_env["ARGUS_STATE_DIR"])
    write(state / "metrics.jsonl", _flat(now, path))
    raw = subprocess.run([sys.executable, "-m", "argus_cli", "stats", "--format", "prometheus"], env=argus_env,
                         capture_output=True, check=False)
    assert raw.returncode == 0, raw.stderr
    proc = subprocess.CompletedProcess(raw.args, 0, raw.stdout.decode("utf-8"), "")
    import re
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:\\[\\"n]|[^"\\\n])*"'
                        r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:\\[\\"n]|[^"\\\n])*")*\})? \S+$')
    bad = [x[:120] for x in proc.stdout.split("\n") if x and not x.startswith("#") and not sample.match(x)]
    assert not bad, bad
    rates = [x for x in proc.stdout.split("\n") if x.startswith("argus_disk_fill_rate_percent_per_day{")]
    assert len(rates) == 1, rates


def test_many_disks_per_line_are_bounded(argus_env, run_argus):
    """5000 'disks' in each of 2016 lines: stats must not print 5000 rows/samples unbounded or take minutes."""
    now = time.time()
    state = Path(argus_env["ARGUS_STATE_DIR"])
    disks = {f"/d{i}": 50.0 for i in range(5000)}
    with (state / "metrics.jsonl").open("w") if state.mkdir(parents=True, exist_ok=True) is None else None as fh:
        for i in range(2016):
            fh.write(json.dumps({"ts": iso_z(now - (2015 - i) * STEP), "disk": disks}) + "\n")
    t0 = time.monotonic()
    proc = run_argus("stats", "--format", "prometheus", env=argus_env, timeout=600)
    took = time.monotonic() - t0
    lines = proc.stdout.count("\n")
    assert took < 10 and lines < 1000, (took, lines, proc.stderr[-500:])


# --- non-regular / unreadable metrics.jsonl --------------------------------------------------------

@pytest.mark.parametrize("kind", ["dir", "fifo", "symlink"])
def test_non_regular_metrics_file_is_left_and_stats_still_works(argus_env, run_argus, kind, tmp_path):
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(parents=True, exist_ok=True)
    m = state / "metrics.jsonl"
    if kind == "dir":
        m.mkdir()
    elif kind == "fifo":
        os.mkfifo(m)
    else:
        target = tmp_path / "elsewhere.jsonl"
        write(target, _flat(time.time(), "/"))
        m.symlink_to(target)
    for args in (("stats", "--json"), ("stats", "--format", "prometheus")):
        proc = run_argus(*args, env=argus_env, timeout=20)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        assert len([x for x in proc.stderr.splitlines() if "metrics.jsonl" in x]) == 1, proc.stderr
    assert (m.is_symlink() if kind == "symlink" else m.is_dir() if kind == "dir" else m.is_fifo())


def test_unreadable_metrics_does_not_kill_the_whole_report(nobody):  # noqa: F811 - a fixture
    """metrics.jsonl unreadable (EACCES here; EIO on a failing disk): the registry stats and the
    Prometheus textfile (every argus_* metric) still come out; the disk trend is optional."""
    state = nobody.base / "state"
    state.mkdir(mode=0o755)
    write(state / "metrics.jsonl", _flat(time.time(), "/"))
    (state / "metrics.jsonl").chmod(0o600)  # root's
    out = nobody.base / "out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    proc = nobody.run("stats", "--format", "prometheus", "--out", str(out / "argus.prom"), state=state)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0 and (out / "argus.prom").exists(), (proc.returncode, proc.stderr)
    assert "disk trends left out" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# --- the cycle's new write ----------------------------------------------------------------------

def test_a_metrics_line_that_cannot_be_written_keeps_the_cycle_ok(argus_env, config_of, immutable):
    """The history is auxiliary: an append refused by the kernel (chattr +i) is said, never a failed
    cycle, and cycles.jsonl is written."""
    from argus_cli.cycle import run_cycle
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    config.state_dir.mkdir(parents=True)
    immutable(config.state_dir / "metrics.jsonl")
    line = run_cycle(config, now=time.time(), collect=disk_host(50.0), install_signals=False)
    assert line["status"] == "ok", line
    cycles = (config.state_dir / "cycles.jsonl").read_text().splitlines()
    assert len(cycles) == 1 and json.loads(cycles[0])["status"] == "ok"
    assert (config.state_dir / "metrics.jsonl").read_bytes() == b""


def test_metrics_dir_in_the_way_during_a_cycle(argus_env, config_of):
    from argus_cli.cycle import run_cycle
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    config.state_dir.mkdir(parents=True, exist_ok=True)
    (config.state_dir / "metrics.jsonl").mkdir()
    line = run_cycle(config, now=time.time(), collect=disk_host(50.0), install_signals=False)
    assert line["status"] == "ok", line
    assert (config.state_dir / "metrics.jsonl").is_file()


# --- relay-summary ------------------------------------------------------------------------------

@pytest.mark.parametrize("days", ["0", "-1", "99999", "x"])
def test_relay_summary_rejects_bad_windows(run_argus, argus_env, days):
    proc = run_argus("relay-summary", "--window-days", days, "--dry-run", env=argus_env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


def test_dry_run_writes_nothing_in_the_state_dir(run_argus, argus_env, tmp_path):
    state = tmp_path / "fresh-state"
    env = {**argus_env, "ARGUS_STATE_DIR": str(state), "ARGUS_RELAY_BIN": str(tmp_path / "nope")}
    proc = run_argus("relay-summary", "--window-days", "1", "--dry-run", "--print", env=env)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["event"] == "argus.daily_summary" and len(proc.stdout) < 65536
    assert not state.exists() or not any(state.iterdir()), list(state.iterdir())


def test_old_consumer_splitting_the_line_into_key_value_pairs(run_argus, argus_env, tmp_path):
    """A consumer of the seed's line doing dict(p.split('=', 1) for p in line.split(', '))."""
    env = {**argus_env, "ARGUS_RELAY_BIN": str(tmp_path / "nope"), "ARGUS_DASHBOARD_URL": "https://d/x"}
    line = run_argus("relay-summary", "--dry-run", env=env).stdout.strip()
    head = line.removeprefix("Argus daily summary: ")
    fields = dict(p.split("=", 1) for p in head.split(", "))
    assert fields["dashboard"] == "https://d/x"


# --- patterns detect ----------------------------------------------------------------------------

def _registry(tmp_path):
    from helpers_reports import iso, problem, write_registry
    base = (time.time() // 3600 - 1) * 3600
    return write_registry(tmp_path / "p.jsonl",
                          [problem(iso(base + i * 60), "service", action="restart_service:gw") for i in range(3)])


def test_bd_that_creates_the_bead_but_fails_makes_at_most_three_a_day(run_argus, argus_env, tmp_path):
    """bd makes the bead, then exits 1 (a sync/flush error): every run is 'no bead', and retrying
    must not become a bead storm."""
    from test_patterns import _bd
    log = _bd(tmp_path, exit_code=1)
    argus_env["ARGUS_PROBLEMS_FILE"] = str(_registry(tmp_path))
    for _ in range(5):
        out = json.loads(run_argus("patterns", "detect", "--json", env=argus_env).stdout)
    creates = len(log.read_text().splitlines())
    assert creates == 3, f"{creates} beads created for one signature on one day; last: {out}"
    assert (out["status"], out["attempts_today"], out["retry_next_run"]) == ("already-reported", 3, False)


def test_detect_json_when_another_run_holds_the_lock(run_argus, argus_env, tmp_path):
    import fcntl
    argus_env["ARGUS_PROBLEMS_FILE"] = str(_registry(tmp_path))
    argus_env["ARGUS_BD_BIN"] = str(tmp_path / "no-such-bd")
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(parents=True, exist_ok=True)
    from argus_cli.state import layout
    fd = os.open(state / layout.PATTERN_DETECT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        proc = run_argus("patterns", "detect", "--json", env=argus_env)
    finally:
        os.close(fd)
    assert proc.returncode == 0
    assert proc.stdout.strip(), f"--json printed nothing (stderr: {proc.stderr.strip()})"
    json.loads(proc.stdout)


def test_already_reported_names_another_signatures_bead(tmp_path, argus_env, config_of):
    """Signature A gets bead X; B's bead fails; A again -> 'already-reported' with bead_id None
    (the state's last_bead_id is B's)."""
    from helpers_reports import iso, problem, write_registry

    from argus_cli.reports import detect as d
    base = (time.time() // 3600 - 1) * 3600
    registry = tmp_path / "p.jsonl"
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    config = config_of(argus_env)
    spike = lambda n: [problem(iso(base + i * 60), "service", action="restart_service:gw") for i in range(n)]  # noqa: E731
    now = time.time()
    write_registry(registry, spike(3))
    a = d.detect(config, now, lambda *a: "pol-0001")
    write_registry(registry, spike(4))
    b = d.detect(config, now + 1, lambda *a: None)
    write_registry(registry, spike(3))
    again = d.detect(config, now + 2, lambda *a: "pol-9999")
    assert (a.bead_id, b.bead_id) == ("pol-0001", None)
    assert again.status == "already-reported"
    assert again.bead_id == "pol-0001", again.to_dict(now)


def test_a_disk_that_never_changes_is_not_filling(tmp_path):
    """Identical readings fit a line with no error at all; the float noise of its slope is no rate."""
    import json as _json

    from argus_cli.reports.trends import disk_trends

    now = 1_780_000_000.0
    state = tmp_path / "state"
    state.mkdir()
    lines = [{"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3 * 86400 + n * 300)),
              "disk": {"/": 88.01}} for n in range(864)]
    (state / "metrics.jsonl").write_text("".join(_json.dumps(line) + "\n" for line in lines))
    (trend,), _ = disk_trends(state, now, 7)
    assert trend.days_to_full is None and trend.percent == 88.01  # 88.01 x 864 gave a 2e-13 slope, 0 error

"""Hog names (actions/enrich.py, reports/patterns_hogs.py): the full name of a real process with a
long name, through the cycle's own enrichment; the seed's 15-character comm kept but marked as
possibly cut; hostile names that cannot break the ``key=value`` description or the ids."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import psutil
import pytest
from helpers_patterns import id_slug
from helpers_reports import iso, load_records, problem, real_registry, write_registry

from argus_cli.actions.enrich import hog_suffix
from argus_cli.config import load
from argus_cli.snapshot import parse_snapshot

LONG_NAME = "a-very-long-process-name-here"  # the kernel keeps "a-very-long-pro"
SLUG = re.compile(r"\A[A-Za-z0-9._-]+\Z")
KEYS = ["hog_process", "hog_pid", "hog_rss_kb", "hog_mem_pct", "hog_runtime", "hog_kill_candidate"]
TIGHT_MEMORY = {"ARGUS_MEMORY_WARN_PCT": "1", "ARGUS_MEMORY_CRIT_PCT": "1", "ARGUS_DISK_WARN_PCT": "100",
                "ARGUS_DISK_CRIT_PCT": "100", "ARGUS_SWAP_WARN_PCT": "100", "ARGUS_LOAD_FACTOR": "1000",
                "ARGUS_BOOT_GRACE_SECONDS": "0", "ARGUS_RELAY_ENABLED": "false"}


def _hogs(analysis: dict) -> dict[str, dict]:
    return {p["id"]: p for p in analysis["patterns"] if p["type"] == "memory_hog_recurring"}


def test_real_registry_keeps_the_cut_comm_but_says_so(run_argus, argus_env):
    env = {**argus_env, "ARGUS_PROBLEMS_FILE": str(real_registry()), "ARGUS_PATTERN_WINDOW_DAYS": "3650"}
    result = run_argus("patterns", "analyze", "--json", env=env)
    assert result.returncode == 0, result.stderr
    names = Counter(m[1] for r in load_records(real_registry()) if r["type"] == "memory"
                    for m in [re.search(r"hog_process=([^,; ]+)", r["description"])] if m)
    expected = {name: n for name, n in names.items() if n >= 3}
    hogs = _hogs(json.loads(result.stdout))
    assert {p["data"]["process"]: p["data"]["count"] for p in hogs.values()} == expected
    assert set(expected) == {"node", "openclaw-gatewa"}
    for pid, finding in hogs.items():
        name = finding["data"]["process"]
        cut = len(name.encode()) == 15
        assert pid == f"memory-hog-{name}" and SLUG.match(pid.removeprefix("memory-hog-"))
        assert finding["data"]["name_complete"] is (not cut)
        assert (f"{name}…" in finding["summary"]) is cut and ("possibly cut" in finding["summary"]) is cut
    assert "with openclaw-gatewa… as the largest process" in hogs["memory-hog-openclaw-gatewa"]["summary"]


@pytest.fixture
def long_named_hog(tmp_path: Path):
    """This Python copied to a file named LONG_NAME, holding 512 MiB: the largest process here."""
    binary = tmp_path / LONG_NAME
    shutil.copy(os.path.realpath(sys.executable), binary)
    code = "import sys, time; b = b'x' * (512 << 20); print('ready', flush=True); time.sleep(120)"
    proc = subprocess.Popen([str(binary), "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_long_process_name_reaches_the_registry_whole_through_the_cycle(run_argus, argus_env, long_named_hog):
    if psutil.virtual_memory().percent < 1:
        pytest.skip("memory is under 1 % used: the lowered threshold could not trip")
    assert Path(f"/proc/{long_named_hog.pid}/comm").read_text().strip() == LONG_NAME[:15]  # what ps shows
    env = {**argus_env, **TIGHT_MEMORY}
    for _ in range(3):  # three cycles: the alert, then two suppressed repeats, each one registry line
        cycle = run_argus("cycle", env=env, timeout=60)
        assert cycle.returncode == 0, cycle.stdout + cycle.stderr
    state = Path(env["ARGUS_STATE_DIR"])
    lines = [json.loads(x) for x in (state / "problems.jsonl").read_text().splitlines()]
    hog_lines = [x for x in lines if f"hog_pid={long_named_hog.pid}," in x["description"]]
    assert len(hog_lines) == 3, [x["description"] for x in lines]
    assert all(f"; hog_process={LONG_NAME},hog_pid=" in x["description"] for x in hog_lines)
    result = run_argus("patterns", "analyze", "--json", env=env)
    assert result.returncode == 0, result.stderr
    finding = _hogs(json.loads(result.stdout))[f"memory-hog-{LONG_NAME}"]
    assert finding["data"] == {"process": LONG_NAME, "count": 3, "name_complete": True}
    assert f"with {LONG_NAME} as the largest process." in finding["summary"]


HOSTILE = ["$(rm -rf /)", "evil\nhog_pid=1", "a,b;c=d e", "\x1b[31mred\x1b[0m", "tab\there", "x" * 500,
           "[/x]", "名前 ã", ""]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_cannot_break_the_description(name):
    config = load({"ARGUS_MEMORY_CRIT_PCT": "90"})
    snapshot = parse_snapshot({"memory": {"percent": 95.0}, "memory_hog": {
        "pid": 4242, "name": name, "rss_kb": 1000, "mem_percent": 1.5, "runtime": f"1-00:00:00 {name}",
        "kill_candidate": False}})
    suffix = hog_suffix(snapshot, config)
    assert suffix.startswith("; ") and suffix.isprintable() and "\n" not in suffix
    pairs = [pair.split("=") for pair in suffix[2:].split(",")]
    assert [p[0] for p in pairs] == KEYS and all(len(p) == 2 and p[1] for p in pairs)
    value = dict(pairs)["hog_process"]
    assert not re.search(r"[\s,;=]", value) and len(value) <= 64
    assert dict(pairs)["hog_pid"] == "4242" and dict(pairs)["hog_kill_candidate"] == "no"


def test_hostile_names_in_the_registry_give_clean_ids_and_one_line_sentences(run_argus, argus_env, tmp_path):
    # the seed's lines were never sanitised: anything up to a comma, a semicolon or a space
    raw = ["$(rm\t-rf\t/)", "[/x]", "(/x)", "evil\x1b[2J", "y" * 80]
    now = 1_775_000_000
    records = [problem(iso(now - 3600 - i), "memory", description=f"memory 95%; hog_process={name},hog_pid=7")
               for name in raw for i in range(3)]
    env = {**argus_env, "ARGUS_PROBLEMS_FILE": str(write_registry(tmp_path / "p.jsonl", records)),
           "ARGUS_PATTERN_WINDOW_DAYS": "3650"}
    result = run_argus("patterns", "analyze", "--json", env=env)
    assert result.returncode == 0, result.stderr
    hogs = _hogs(json.loads(result.stdout))
    assert sorted(hogs) == sorted(f"memory-hog-{id_slug(name)}" for name in raw)
    assert len(hogs) == len(raw)  # "[/x]" and "(/x)" clean up alike, their hashes tell them apart
    for pid, finding in hogs.items():
        assert SLUG.match(pid) and len(pid) <= len("memory-hog-") + 40 + 9
        assert finding["summary"].isprintable() and finding["recommendation"].isprintable()

"""`argus last` shows the open incidents of incidents.json, and only reads it (ARCHITECTURE.md §4, §8);
`argus patterns detect` writes the top recurring subjects of incidents.jsonl like `patterns analyze`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from helpers_reports import iso, problem, write_registry

from argus_cli.config import load
from argus_cli.reports.detect import detect, signature_of
from argus_cli.state import layout
from argus_cli.state.layout import Incident, IncidentAction, Incidents, Notice

CYCLE = {"ts": "2026-11-30T03:40:00Z", "status": "ok", "decider": "rules", "actions": [], "errors": []}


def state_with_a_cycle(env: dict[str, str]) -> Path:
    state = Path(env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700)
    (state / layout.CYCLES).write_text(json.dumps(CYCLE) + "\n")
    return state


def corrupted(state: Path) -> list[str]:
    return [p.name for p in state.iterdir() if ".corrupt-" in p.name]


def test_last_shows_each_open_incident_with_its_notices_and_actions(argus_env: dict[str, str],
                                                                     run_argus: Any) -> None:
    state = state_with_a_cycle(argus_env)
    now = time.time()
    opened = now - 42 * 60 - 5  # 42 min ago, with time to spare for a slow start of the CLI
    gateway = Incident(
        id="a-1", subject="service:gateway", condition="down", severity="critical", worst="critical",
        text="Service gateway is down: connect refused", opened=opened, last_seen=now - 60,
        notified=opened, notified_severity="critical",
        notices=[Notice("opened", opened, "sent"), Notice("reminder", opened + 600, "failed")],
        actions=[IncidentAction("restart_service", "gateway.service", opened + 120, "success",
                                outcome="unchanged", checked=opened + 420),
                 IncidentAction("restart_service", "gateway.service", opened + 480, "success")],
        changes=[opened, opened + 300, opened + 600, opened + 900, opened + 1200, opened + 1500],
        flapping=True, escalated=["restart_service gateway.service"])
    disk = Incident(id="b-2", subject="disk:/", condition="usage>=warn", severity="warning", worst="critical",
                    text="Disk high: / at 86% used", opened=now - 3 * 3600, last_seen=now - 300, absent=1,
                    cleared=now - 300)
    book = Incidents(open={"service:gateway down": gateway, "disk:/ usage>=warn": disk})
    layout.INCIDENTS.write(state, book)
    before = (state / "incidents.json").read_bytes()

    proc = run_argus("last", env=argus_env)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("cycle 2026-11-30T03:40:00Z  status ok")
    block = lines[lines.index("open incidents (2):"):]
    assert block[1] == (f"  service:gateway down  critical  since {iso(opened)} (42 min)  "
                        f"last notified {iso(opened)} (opened, sent)  [FLAPPING: notices held until it settles]"
                        "  [ineffective: restart_service gateway.service]")
    assert block[2] == f"    restart_service gateway.service at {iso(opened + 120)}: success, unchanged"
    assert block[3] == f"    restart_service gateway.service at {iso(opened + 480)}: success, not checked yet"
    assert block[4] == (f"  disk:/ usage>=warn  warning (worst critical)  since {iso(now - 3 * 3600)} (3 h)  "
                        "not notified  [clearing: absent 1 cycle(s)]")
    assert len(block) == 5

    proc = run_argus("last", "--json", env=argus_env)
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)["incidents"]
    assert [i["fingerprint"] for i in listed] == ["service:gateway down", "disk:/ usage>=warn"]
    assert listed[0]["subject"] == "service:gateway" and listed[0]["flapping"] is True
    assert [a["outcome"] for a in listed[0]["actions"]] == ["unchanged", None]
    assert listed[0]["notices"][0] == {"kind": "opened", "at": opened, "status": "sent"}
    assert listed[1]["absent"] == 1 and listed[1]["notified"] is None
    assert (state / "incidents.json").read_bytes() == before  # only read
    assert corrupted(state) == []


@pytest.mark.parametrize("book", [None, Incidents()], ids=["no-file", "empty-book"])
def test_last_says_when_nothing_is_open(argus_env: dict[str, str], run_argus: Any, book: Incidents | None) -> None:
    state = state_with_a_cycle(argus_env)
    if book is not None:
        layout.INCIDENTS.write(state, book)
    proc = run_argus("last", env=argus_env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "no open incidents"
    proc = run_argus("last", "--json", env=argus_env)
    assert json.loads(proc.stdout) == {"cycle": CYCLE, "decision": None, "incidents": []}
    assert proc.stderr == ""
    assert (state / "incidents.json").exists() is (book is not None)  # `last` never creates it


@pytest.mark.parametrize("bad", ["{not json", '{"open": {"memory usage>=crit": 5}}', "directory"])
def test_an_unusable_incidents_file_is_said_in_one_line_and_left_as_it_is(
        argus_env: dict[str, str], run_argus: Any, bad: str) -> None:
    state = state_with_a_cycle(argus_env)
    path = state / "incidents.json"
    if bad == "directory":
        path.mkdir()
    else:
        path.write_text(bad)

    proc = run_argus("last", env=argus_env)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    said = [line for line in proc.stdout.splitlines() if "incidents" in line]
    assert len(said) == 1 and said[0].startswith(f"open incidents: unknown, {path} is ")
    assert said[0].endswith("left as it is")

    proc = run_argus("last", "--json", env=argus_env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["incidents"] is None
    assert proc.stderr.count("\n") == 1 and "incidents.json" in proc.stderr and "left as it is" in proc.stderr
    assert path.is_dir() if bad == "directory" else path.read_text() == bad
    assert corrupted(state) == []


# --- patterns detect --------------------------------------------------------------------------

def test_detect_writes_the_top_recurring_subjects_outside_its_signature(argus_env: dict[str, str],
                                                                        tmp_path: Path) -> None:
    now = 1_775_000_000.0
    registry = write_registry(tmp_path / "p.jsonl", [
        problem(iso(now - 3600 + i * 60), "service", action="restart_service:gw") for i in range(3)])
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    config = load(argus_env)
    config.state_dir.mkdir(mode=0o700)
    events = [("opened", "g1", "service:gateway", now - 7200), ("resolved", "g1", "service:gateway", now - 6600),
              ("opened", "g2", "service:gateway", now - 1200),  # still open at the end: counts up to now
              ("opened", "d1", "disk:/", now - 600), ("resolved", "d1", "disk:/", now - 300)]
    (config.state_dir / "incidents.jsonl").write_text("".join(
        json.dumps({"ts": iso(at), "event": event, "id": ident, "subject": subject, "condition": "down",
                    "severity": "critical"}) + "\n" for event, ident, subject, at in events))

    outcome = detect(config, now, lambda _config, _title, _body: "bead-1")
    assert outcome.status == "reported" and outcome.incidents.top_subjects
    analysis = json.loads((config.state_dir / "pattern-analysis.json").read_text())
    assert analysis["top_subjects"] == [
        {"subject": "service:gateway", "count": 2, "first_seen": iso(now - 7200), "last_seen": iso(now),
         "open_seconds": 1800},
        {"subject": "disk:/", "count": 1, "first_seen": iso(now - 600), "last_seen": iso(now - 300),
         "open_seconds": 300}]
    assert outcome.signature == signature_of(analysis["patterns"])  # subjects do not make a new bead

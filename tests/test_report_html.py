"""`argus report --html`: one self-contained page from a real state directory.

The state is built the way a host builds it: the real registry (re-dated so that it ends an hour
ago), metrics.jsonl with a known disk slope, and cycles run by Argus itself on an injected
snapshot (the LLM ones against the local Messages API stand-in), with host strings that try to
break out of the HTML. The real CLI writes the page; its counts are checked against counts taken
from the JSONL with plain loops, and headless Chromium renders it at 390 and 1280 px: no console
error or blocked request, no horizontal overflow, one bar per day, one line per disk.
"""

from __future__ import annotations

import copy
import html
import json
import math
import os
import random
import re
import shutil
import subprocess
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from helpers_anthropic import FakeAnthropic, llm_env, tool_use
from helpers_reports import in_window, load_records, real_registry, to_utc

from argus_cli.config import Config, load
from argus_cli.cycle import run_cycle
from argus_cli.model import iso_z
from argus_cli.snapshot import parse_snapshot
from argus_cli.state.layout import INCIDENTS

DAY = 86400
STEP = 300
WINDOW = 7
SLOPE = 2.0  # "/" fills two points a day: 78 % at the window's edge, 92 % now
# When the LLM cycles ran: before the real registry's three quiet days (its last week has them),
# so the days without a problem stay without one whatever the time of day.
ASKED_AGO = 5.5 * DAY
SCENARIOS = Path(__file__).parent / "scenarios"
HOSTILE_SERVICE = '"><img src=x onerror=alert(1)>'
HOSTILE_TYPE = "<script>alert(1)</script>"
HOSTILE_DISK = "/srv/<script>alert(2)</script>"
HOSTILE_ERROR = "timed out </td><script>alert(3)</script> " + "x" * 300  # and no place to break a line
DISKS = ("/", "/var", HOSTILE_DISK)


# --- the state, as a host builds it ---------------------------------------------------------------

def disk_level(t: float, now: float) -> float:
    return 78.0 + SLOPE * (t - (now - WINDOW * DAY)) / DAY


def metric_lines(start: float, end: float, now: float) -> list[dict[str, Any]]:
    """One metrics.jsonl line per five minutes in [start, end): "/" on the slope (with noise),
    "/var" steady, the hostile path steady, memory swinging daily."""
    rng = random.Random(int(start))
    count = int((end - start) // STEP)
    return [{"ts": iso_z(t), "cpu": 12.0, "mem": round(50 + 12 * math.sin(t / DAY * 2 * math.pi), 2),
             "disk": {"/": round(disk_level(t, now) + rng.uniform(-0.3, 0.3), 2),
                      "/var": round(40 + rng.uniform(-0.3, 0.3), 2), HOSTILE_DISK: 55.0}}
            for t in (start + n * STEP for n in range(count))]


def append_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    with path.open("a") as out:
        out.writelines(json.dumps(line) + "\n" for line in lines)


def redated_registry(path: Path, now: float) -> None:
    """The real registry moved in time so that its last problem was an hour ago, plus two hostile
    lines and one that is no JSON."""
    records = load_records(real_registry())
    shift = now - 3600 - max(to_utc(r["ts"]).timestamp() for r in records)
    moved = [{**r, "ts": iso_z(to_utc(r["ts"]).timestamp() + shift)} for r in records]
    moved += [{"ts": iso_z(now - 7200), "severity": "critical", "type": HOSTILE_TYPE, "description": HOSTILE_TYPE,
               "action_taken": f"alert:{HOSTILE_SERVICE}", "action_result": HOSTILE_TYPE, "bead_id": None, "host": "x"},
              {"ts": iso_z(now - 5 * 3600), "severity": HOSTILE_SERVICE, "type": "disk", "description": "d",
               "action_taken": "clean_disk:safelist", "action_result": "success", "bead_id": None, "host": "x"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in moved) + '{"ts": "torn\n')


def host(now: float, *, service_down: bool, collector_error: bool) -> Any:
    """A snapshot at any time: the disks on their lines, a hostile service up or down, and a tmux
    collector that timed out with a hostile message."""
    base = json.loads((SCENARIOS / "disk_92.json").read_text())["snapshot"]

    def collect(t: float) -> Any:
        snap = copy.deepcopy(base)
        snap["ts"] = iso_z(t)
        levels = {"/": round(disk_level(t, now), 2), "/var": 40.0, HOSTILE_DISK: 55.0}
        snap["disks"] = [{"path": p, "total_mb": 100_000, "used_mb": int(v * 1000), "free_mb": int((100 - v) * 1000),
                          "percent": v} for p, v in levels.items()]
        snap["services"] = [{"name": HOSTILE_SERVICE, "check": "tcp:127.0.0.1:9", "status": "down" if service_down
                             else "up", "detail": "refused" if service_down else "connected"}]
        snap["errors"] = [{"collector": "tmux", "error": HOSTILE_ERROR}] if collector_error else []
        return parse_snapshot(snap)
    return collect


def build_state(env: dict[str, str], now: float) -> Config:
    """metrics from before the window on, three LLM cycles, more metrics, then ten rules cycles in
    the last hour: in time order, as a host writes them."""
    state = Path(env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700, exist_ok=True)
    registry = state.parent / "problems.jsonl"
    redated_registry(registry, now)
    env["ARGUS_PROBLEMS_FILE"] = str(registry)
    metrics = state / "metrics.jsonl"
    append_lines(metrics, metric_lines(now - (WINDOW + 1) * DAY, now - ASKED_AGO, now))
    with FakeAnthropic() as fake:
        fake.default = lambda: tool_use({"assessment": "disk / keeps filling", "actions": [
            {"type": "log", "subject": "disk:/", "observation": "disk / keeps filling"}]})
        asking = load(llm_env({**env, "ARGUS_LLM_EVERY_CYCLE": "true"}, fake))
        for n in range(3):
            t = now - ASKED_AGO + n * STEP
            run_cycle(asking, now=t, collect=host(now, service_down=False, collector_error=n == 1),
                      install_signals=False)
    append_lines(metrics, metric_lines(now - ASKED_AGO + 3 * STEP, now - 11 * STEP, now))
    rules = load({**env, "ARGUS_DECIDER": "rules"})
    for n in range(10):
        run_cycle(rules, now=now - (10 - n) * STEP - 30, install_signals=False,
                  collect=host(now, service_down=2 <= n <= 5, collector_error=n in (7, 8)))
    return rules


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path, str]:
    """The state, built once (cycles take a while), and the page the real CLI writes from it."""
    root = tmp_path_factory.mktemp("report")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGUS_", "ANTHROPIC_", "TELEGRAM_"))}
    (root / "host").mkdir()
    (root / "empty.env").write_text("")
    env.update({"ARGUS_ENV_FILE": str(root / "empty.env"), "ARGUS_STATE_DIR": str(root / "state"),
                "ARGUS_HOST_ROOT": str(root / "host"), "ARGUS_BEADS_WORKDIR": str(root), "HOME": str(root),
                "NO_COLOR": "1"})
    build_state(env, time.time())
    out = root / "out" / "report.html"
    out.parent.mkdir()
    proc = run_report(env, "--html", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"argus: report written to {out}" in proc.stderr
    return env, out, out.read_text()


def run_report(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argus = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "argus"
    command = [str(argus)] if argus.exists() else [shutil.which("argus") or "argus"]
    return subprocess.run([*command, "report", *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


# --- reading the page back --------------------------------------------------------------------------

class Elements(HTMLParser):
    """Every start tag with its attributes and the id of the section it is in."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str | None, str, dict[str, str]]] = []
        self.section: str | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "section":
            self.section = found.get("id")
        self.found.append((self.section, tag, found))

    def classed(self, section: str, css: str) -> list[dict[str, str]]:
        return [a for s, _, a in self.found if s == section and css in a.get("class", "").split()]

    def bars(self, section: str) -> dict[str, dict[str, int]]:
        """{day: {key: value}} of a section's first bar chart (the one per day it opens with)."""
        out: dict[str, dict[str, int]] = {}
        day = None
        for s, tag, attrs in self.found:
            if s != section:
                continue
            if tag == "svg" and out:
                break
            if tag == "g" and attrs.get("class") == "bar":
                day = attrs["data-day"]
                out[day] = {}
            elif tag == "rect" and attrs.get("class") == "part" and day is not None:
                out[day][attrs["data-key"]] = int(attrs["data-value"])
        return out


class Rows(HTMLParser):
    """The text of every table's rows, by the table's id: {id: [[cell, ...], ...]}."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: dict[str | None, list[list[str]]] = defaultdict(list)
        self.table: str | None = None
        self.cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.table = dict(attrs).get("id")
        elif tag == "tr":
            self.tables[self.table].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[self.table][-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def page_now(page: str) -> float:
    found = re.search(r"generated (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", page)
    assert found, "the page says when it was generated"
    return datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


def window_days(now: float) -> list[str]:
    end = datetime.fromtimestamp(now, UTC)
    first = (end - timedelta(days=WINDOW)).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((end.date() - first).days + 1)]


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- the page against the JSONL -----------------------------------------------------------------------

def test_problems_per_day_match_the_registry_every_day_of_the_window(built):
    env, _, page = built
    now = page_now(page)
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    for record in in_window(load_records(Path(env["ARGUS_PROBLEMS_FILE"])), now, WINDOW):
        expected[to_utc(record["ts"]).strftime("%Y-%m-%d")][record["severity"]] += 1
    bars = Elements(page).bars("problems")
    assert list(bars) == window_days(now)  # every day, the ones without a problem too
    # the real registry's last week holds 76 quiet hours: two whole UTC days at least, whatever the hour
    assert sum(1 for counts in bars.values() if not counts) >= 2
    assert bars == {day: dict(expected.get(day, {})) for day in bars}
    assert sum(map(sum, (c.values() for c in bars.values()))) > 50
    # the actions table: the registry's lines by the action taken (its type) and the result
    taken = Counter((r["action_taken"].partition(":")[0], r["action_result"])
                    for r in in_window(load_records(Path(env["ARGUS_PROBLEMS_FILE"])), now, WINDOW))
    assert matrix(Rows(page).tables["actions-registry"]) == taken


def test_llm_calls_tokens_and_cycles_per_day_match_cycles_jsonl(built):
    env, _, page = built
    now = page_now(page)
    cycles = [c for c in jsonl(Path(env["ARGUS_STATE_DIR"]) / "cycles.jsonl") if to_utc(c["ts"]).timestamp()
              >= now - WINDOW * DAY]
    calls, per_day = Counter[str](), Counter[str]()
    for cycle in cycles:
        per_day[cycle["ts"][:10]] += 1
        calls[cycle["ts"][:10]] += cycle["llm_called"] is True
    elements = Elements(page)
    llm = elements.bars("llm")
    assert {day: sum(parts.values()) for day, parts in llm.items() if parts} == {d: n for d, n in calls.items() if n}
    assert sum(calls.values()) == 3 and len(llm) == len(window_days(now))
    used = [c["usage"] for c in cycles if c.get("usage")]
    tokens_in, tokens_out = sum(u["input_tokens"] for u in used), sum(u["output_tokens"] for u in used)
    assert f"{tokens_in:,} input and {tokens_out:,} output tokens" in page and tokens_in > 0
    seen = elements.bars("blind")
    assert {day: sum(parts.values()) for day, parts in seen.items() if parts} == dict(per_day)
    assert f"{len(cycles)} cycle(s) recorded" in page


def test_one_line_per_disk_and_the_forecast_of_the_filling_one(built):
    _, _, page = built
    elements = Elements(page)
    lines = elements.classed("trends", "disk-trend")
    assert sorted(a["data-name"] for a in lines) == sorted(DISKS)
    [forecast] = elements.classed("trends", "forecast")
    assert forecast["data-name"] == "/ forecast" and "stroke-dasharray" in forecast
    assert len(elements.classed("trends", "memory-trend")) == 1
    disks = {row[0]: row[1:] for row in Rows(page).tables["disks"][1:]}
    assert set(disks) == set(DISKS)
    now, rate, full = disks["/"]
    assert float(now.removesuffix(" %")) == pytest.approx(92, abs=0.5)
    assert float(rate.removesuffix(" %")) == pytest.approx(SLOPE, abs=0.15)
    found = re.fullmatch(r"in ([\d.]+) days \(\d{4}-\d\d-\d\d, warning\)", full)
    assert found and float(found[1]) == pytest.approx((100 - 92) / SLOPE, abs=1.0)
    assert disks["/var"][2] == disks[HOSTILE_DISK][2] == "not filling"


def test_open_incidents_subjects_actions_and_blind_spots_come_from_the_cycles(built):
    env, _, page = built
    state = Path(env["ARGUS_STATE_DIR"])
    book = INCIDENTS.read(state)
    assert book is not None and book.open
    assert f"<p>{len(book.open)} open</p>" in page
    opened = Counter(e["subject"] for e in jsonl(state / "incidents.jsonl") if e["event"] == "opened")
    service = f"service:{HOSTILE_SERVICE}"
    assert opened[service] == 1  # down, then up for longer than ARGUS_RESOLVE_CYCLES
    tables = Rows(page).tables
    assert {row[0]: int(row[1]) for row in tables["top-subjects"][1:]} == dict(opened)
    cycles = jsonl(state / "cycles.jsonl")
    taken = Counter((a["type"], a["status"]) for c in cycles if not c["dry_run"] for a in c["actions"])
    judged = Counter((o["type"], o["outcome"]) for c in cycles for o in c["incidents"]["outcomes"])
    assert taken[("clean_disk", "success")] and judged[("clean_disk", "unchanged")]
    assert matrix(tables["actions-taken"]) == taken and matrix(tables["actions-judged"]) == judged
    errors = sum(1 for c in cycles if any(e.startswith("collector tmux") for e in c["errors"]))
    assert tables["collectors"][1:] == [["tmux", str(errors), HOSTILE_ERROR]] and errors == 3
    assert "no cycle: " in page  # the days without a cycle are a gap, said with its times
    assert "skipped 1 malformed line(s)" in page  # the torn registry line


def matrix(rows: list[list[str]]) -> Counter[tuple[str, str]]:
    """A (row, column) count table back as a Counter; its rows' totals checked on the way."""
    columns = rows[0][1:-1]
    out: Counter[tuple[str, str]] = Counter()
    for name, *counts, total in rows[1:]:
        assert sum(map(int, counts)) == int(total)
        out.update({(name, col): int(n) for col, n in zip(columns, counts, strict=True) if int(n)})
    return out


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def test_host_strings_are_escaped_and_the_page_holds_no_script_or_request(built):
    _, _, page = built
    for hostile in (HOSTILE_SERVICE, HOSTILE_TYPE, HOSTILE_DISK, HOSTILE_ERROR):
        assert hostile not in page
        assert escape(hostile) in page, hostile  # shown, as text
    elements = Elements(page).found
    assert not {tag for _, tag, _ in elements} & {"script", "img", "iframe", "link", "object", "embed", "image"}
    # nothing to fetch or run: no source, no link, no event handler
    assert not [name for _, _, attrs in elements for name in attrs if name in ("src", "href") or name.startswith("on")]
    assert "content=\"default-src 'none'; style-src 'unsafe-inline'\">" in page  # the Content-Security-Policy


def test_the_file_is_written_atomically_0644_and_dash_prints_it(built):
    env, out, _ = built
    assert out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no temp file left
    proc = run_report(env, "--html", "-")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("<!DOCTYPE html>") and "Problems per day" in proc.stdout


def test_an_empty_state_says_what_is_missing_instead_of_drawing_a_quiet_host(argus_env, tmp_path):
    argus_env["ARGUS_PROBLEMS_FILE"] = str(tmp_path / "nowhere.jsonl")
    out = tmp_path / "empty.html"
    proc = run_report(argus_env, "--html", str(out), "--window-days", "3")
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    for said in ("no cycle recorded in the window", "no incident book", "no registry at",
                 "no metrics history in the last 3 days: metrics.jsonl is written by each cycle",
                 "no incident history yet", "no LLM call in the window", "3 days to "):
        assert said in page, said
    assert len(Elements(page).bars("problems")) == 4  # three days back and today, all at zero


def test_an_unreadable_registry_or_output_is_one_line_and_exit_1(argus_env, tmp_path):
    (tmp_path / "registry").mkdir()
    argus_env["ARGUS_PROBLEMS_FILE"] = str(tmp_path / "registry")
    proc = run_report(argus_env, "--html", str(tmp_path / "out.html"))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "registry" in proc.stderr, proc.stderr
    argus_env["ARGUS_PROBLEMS_FILE"] = str(tmp_path / "none.jsonl")
    (tmp_path / "a-file").write_text("")
    proc = run_report(argus_env, "--html", str(tmp_path / "a-file" / "out.html"))
    assert proc.returncode == 1 and proc.stderr.startswith("argus: writing the report failed"), proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    proc = run_report(argus_env, "--html", str(tmp_path / "no" / "such" / "out.html"))
    assert proc.returncode == 1 and proc.stderr == (f"argus: writing the report failed: {tmp_path / 'no' / 'such'}: "
                                                    "no such directory\n")
    assert not (tmp_path / "no").exists()


def test_a_registry_of_hand_made_names_folds_into_a_table_a_page_can_hold(argus_env, tmp_path):
    """Hand-edited lines with 400 action types and 40 results: the types Argus does not know are
    one row already; of the results the table keeps the biggest 12 and sums the rest in one
    column; no line is lost from the totals."""
    now = time.time()
    lines = [json.dumps({"ts": iso_z(now - 3600 - n), "severity": "info", "type": "process", "description": "d",
                         "action_taken": f"act{n}:x", "action_result": f"res{n % 40}", "host": "h"})
             for n in range(400)]
    (tmp_path / "problems.jsonl").write_text("\n".join(lines) + "\n")
    argus_env["ARGUS_PROBLEMS_FILE"] = str(tmp_path / "problems.jsonl")
    proc = run_report(argus_env, "--html", "-")
    assert proc.returncode == 0, proc.stderr
    found = re.search(r'<table id="actions-registry".*?</table>', proc.stdout, re.S)
    assert found is not None
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(0), re.S)[1:]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    assert len(cells) == 1 and len(cells[0]) == 1 + 13 + 1
    assert 'data-label="other (the rest)">280<' in rows[0]
    assert sum(int(re.sub("<.*?>", "", c)) for c in cells[0][1:-1]) == int(cells[0][-1]) == 400


def test_a_metrics_file_that_is_a_directory_is_named_on_the_page(argus_env, tmp_path):
    state = Path(argus_env["ARGUS_STATE_DIR"])
    (state / "metrics.jsonl").mkdir(parents=True)
    state.chmod(0o700)
    out = tmp_path / "page.html"
    proc = run_report(argus_env, "--html", str(out))
    assert proc.returncode == 0, proc.stderr
    said = f"{state / 'metrics.jsonl'} is a directory, not a regular file"
    assert said in proc.stderr and said in out.read_text()


def test_it_only_reads_bad_state_files_are_named_and_left_byte_for_byte(argus_env, tmp_path):
    """ARCHITECTURE.md §4, one repair policy: a report does not own the state."""
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700)
    bad = {"incidents.json": '{"open": 5}', "cycle-state.json": '{"status": 5}',
           "cycles.jsonl": '{"ts": "2026-11-30T00:00:00Z", "status": "ok"}\nnot json\n'}
    for name, text in bad.items():
        (state / name).write_text(text)
    out = tmp_path / "page.html"
    proc = run_report(argus_env, "--html", str(out))
    assert proc.returncode == 0, proc.stderr
    assert {name: (state / name).read_text() for name in bad} == bad
    assert not [p for p in state.iterdir() if ".corrupt-" in p.name]
    page = out.read_text()
    for name in ("incidents.json", "cycle-state.json"):
        said = [line for line in proc.stderr.splitlines() if name in line]
        assert said and all(escape(line) in page for line in said), proc.stderr
    assert "skipped 1 line(s) of 2 in cycles.jsonl" in page  # the one that is no JSON


# --- headless Chromium --------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Inside the page (a test-only copy): records every blocked request and error from the start.
PROBE = """<script nonce="probe">
window.__errors = [];
addEventListener('securitypolicyviolation', e => __errors.push('blocked ' + e.violatedDirective + ' ' + e.blockedURI));
addEventListener('error', e => __errors.push('error ' + (e.message || (e.target && e.target.outerHTML))), true);
</script>"""
# Around it: a frame exactly ``width`` px wide (a desktop Chromium window is never under 500 px),
# read once it has loaded; what it finds is written into the wrapper's body for --dump-dom.
WRAPPER = """<!DOCTYPE html><html><head><style>body{{margin:0}} iframe{{border:0;display:block}}</style></head>
<body><iframe id="report" width="{width}" height="3000" srcdoc="{page}"></iframe><script>
const frame = document.getElementById('report');
frame.addEventListener('load', () => {{
  const doc = frame.contentDocument, out = document.body.dataset;
  out.viewport = doc.documentElement.clientWidth;
  out.scrollWidth = doc.documentElement.scrollWidth;
  // a table may scroll inside its own box (a host string with no place to break): the box must fit
  const boxes = [...doc.querySelectorAll('body *')].filter(el => !el.parentElement.closest('.scroll'));
  out.widest = Math.max(...boxes.map(el => el.getBoundingClientRect().right));
  out.errors = JSON.stringify(frame.contentWindow.__errors || ['the probe did not run']);
  out.problemBars = doc.querySelectorAll('#problems svg')[0].querySelectorAll('g.bar').length;
  out.diskLines = doc.querySelectorAll('#trends path.disk-trend').length;
}});
</script></body></html>"""


def probed(page: str, width: int) -> str:
    """A test-only wrapper around a copy of the page with the probe: the report itself has no
    script. The copy's policy lets the probe run and still blocks every request, which it records."""
    policy = "default-src 'none'; style-src 'unsafe-inline'"
    assert page.count(policy) == 1
    page = page.replace(policy, policy + "; script-src 'nonce-probe'").replace("<head>", "<head>" + PROBE, 1)
    return WRAPPER.format(width=width, page=html.escape(page, quote=True))


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium)")
@pytest.mark.parametrize("width", [390, 1280])
def test_chromium_renders_it_without_errors_or_horizontal_overflow(built, tmp_path, width):
    _, _, page = built
    wrapper = tmp_path / "probed.html"
    wrapper.write_text(probed(page, width))
    proc = chromium(f"--window-size={max(width, 500)},2000", "--dump-dom", wrapper.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r"<body ([^>]*)>", proc.stdout)
    assert found, proc.stdout[:500]
    data = {k: html.unescape(v) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', found[1])}
    assert int(data["viewport"]) == width, data
    assert json.loads(data["errors"]) == []
    assert not [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert int(data["scroll-width"]) <= width and float(data["widest"]) <= width, data
    assert int(data["problem-bars"]) == len(window_days(page_now(page)))
    assert int(data["disk-lines"]) == len(DISKS)
    shot = tmp_path / "shot.png"
    proc = chromium(f"--window-size={max(width, 500)},2000", f"--screenshot={shot}", wrapper.as_uri())
    assert proc.returncode == 0 and shot.stat().st_size > 10_000

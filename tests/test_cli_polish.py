"""Small things an operator expects of the CLI, through the real CLI ("never blind, never silent",
item 11): `-h`, stats' --format, severity in words, whole-word previews, decide's refusals, and
`last --json` with nothing recorded."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers_reports import run_on_tty

from argus_cli.text import cut_at_word

SCENARIOS = Path(__file__).parent / "scenarios"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _one_line(proc: Any) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return str(lines[0])


# --- -h is --help ---------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [(), ("stats",), ("decide",), ("last",), ("collect",), ("patterns",),
                                     ("patterns", "analyze"), ("patterns", "detect")], ids=" ".join)
def test_dash_h_prints_the_same_help_as_dash_dash_help(command: tuple[str, ...], argus_env: dict[str, str],
                                                       run_argus: Any) -> None:
    short, long = run_argus(*command, "-h", env=argus_env), run_argus(*command, "--help", env=argus_env)
    assert short.returncode == long.returncode == 0, short.stderr
    assert short.stdout == long.stdout and short.stdout.startswith("Usage: ")
    assert "-h, --help" in short.stdout


# --- stats --format -------------------------------------------------------------------------------

def test_stats_help_shows_the_real_default_of_format(argus_env: dict[str, str], run_argus: Any) -> None:
    proc = run_argus("stats", "--help", env=argus_env)
    flat = " ".join(proc.stdout.split())
    assert "[default: a rich view on a terminal, json otherwise]" in flat
    assert "[default: json]" not in flat


@pytest.mark.parametrize("args", [("--format", "prometheus", "--json"), ("--json", "--format", "prometheus")])
def test_stats_refuses_prometheus_with_json(args: tuple[str, ...], argus_env: dict[str, str],
                                            run_argus: Any) -> None:
    proc = run_argus("stats", *args, env=argus_env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--json" in proc.stderr and "--format prometheus" in proc.stderr
    assert not (Path(argus_env["ARGUS_STATE_DIR"]) / "problems.jsonl").exists()


def test_stats_format_json_is_json_on_a_terminal_and_the_default_is_rich(argus_env: dict[str, str]) -> None:
    code, out = run_on_tty(argus_env, "stats", "--format", "json")
    assert code == 0, out
    assert json.loads(out)["total_problems"] == 0
    code, out = run_on_tty(argus_env, "stats")
    assert code == 0, out
    with pytest.raises(ValueError):
        json.loads(out)


# --- collect: severity in words, no trailing spaces -----------------------------------------------

def _gauge_word(line: str) -> str | None:
    match = re.search(r"  (WARN|CRIT)$", line)
    return match.group(1) if match else None


def test_piped_collect_says_warn_and_crit_in_words_without_trailing_spaces(argus_env: dict[str, str],
                                                                           run_argus: Any) -> None:
    env = {**argus_env, "ARGUS_MEMORY_WARN_PCT": "1", "ARGUS_MEMORY_CRIT_PCT": "1",
           "ARGUS_DISK_WARN_PCT": "1", "ARGUS_DISK_CRIT_PCT": "100", "ARGUS_SERVICES": "gone=tcp:127.0.0.1:1"}
    proc = run_argus("collect", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and not [line for line in lines if line != line.rstrip()], proc.stdout
    memory = next(line for line in lines if line.startswith("memory "))
    if not memory.split()[1].startswith("0"):  # 1% or more used: at or past both thresholds
        assert _gauge_word(memory) == "CRIT", memory
    for disk in (line for line in lines if line.startswith("disk ")):
        percent = int(disk.split()[2].rstrip("%"))
        assert _gauge_word(disk) == ("WARN" if 1 <= percent < 100 else "CRIT" if percent == 100 else None), disk
    assert "service gone down  connect to 127.0.0.1:1" in proc.stdout
    code, on_tty = run_on_tty(env, "collect")  # on a terminal the colour comes with the same words
    assert code == 0, on_tty
    assert [_gauge_word(line) for line in ANSI.sub("", on_tty).splitlines() if line.startswith("disk ")] == \
        [_gauge_word(line) for line in lines if line.startswith("disk ")]


def test_the_human_view_puts_the_word_after_the_value_and_aligns_the_labels(argus_env: dict[str, str],
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from argus_cli.cli.render_snapshot import render
    from argus_cli.config import load
    from argus_cli.snapshot import parse_snapshot

    for key, value in argus_env.items():
        monkeypatch.setenv(key, value)
    snapshot = parse_snapshot({
        "host": "web-01", "ts": "2026-11-27T19:52:52Z",
        "memory": {"total_mb": 24105, "used_mb": 22400, "percent": 93.0},
        "disks": [{"path": "/", "free_mb": 9000, "percent": 85.0},
                  {"path": "/data", "free_mb": 90000, "percent": 20.0}],
        "services": [{"name": "web", "status": "up"}, {"name": "db", "status": "down", "detail": "refused"}]})
    out = io.StringIO()
    render(Console(file=out, no_color=True, width=200, soft_wrap=True), snapshot, load())
    assert out.getvalue().splitlines()[1:] == [
        "memory      93%  22400/24105 MB  CRIT",
        "disk /      85%  9000 MB free  WARN",
        "disk /data  20%  90000 MB free",
        "service web up",
        "service db down  refused",
    ]


# --- dry-run previews end on a whole word ---------------------------------------------------------

def test_cut_at_word_keeps_whole_words_within_the_limit() -> None:
    assert cut_at_word("short", 10) == "short"
    assert cut_at_word("hello world again", 12) == "hello world…"
    assert cut_at_word("hello world again", 11) == "hello…"  # "hello world…" would be 12
    assert cut_at_word("hello, world", 9) == "hello…"
    assert cut_at_word("ab " + "x" * 30, 10) == "ab xxxxxx…"  # one long word: cut inside it
    for limit in range(2, 40):
        for text in ("a b c d e f g h i j k l m n o p", "y" * 50, "word " * 12):
            assert len(cut_at_word(text, limit)) <= limit


def test_a_dry_run_log_preview_is_cut_at_a_word_boundary(argus_env: dict[str, str], run_argus: Any) -> None:
    words = ["disk"] + [f"word{i:02d}" for i in range(60)]
    decision = {"actions": [{"type": "log", "observation": " ".join(words)}]}
    proc = run_argus("act", "--decision", "-", "--dry-run", "--json", env=argus_env, input=json.dumps(decision))
    assert proc.returncode == 0, proc.stderr
    detail = json.loads(proc.stdout)[0]["detail"]
    prefix = "dry run: would log observation: "
    assert detail.startswith(prefix) and detail.endswith("…")
    shown = detail[len(prefix):-1].split(" ")
    assert shown == words[:len(shown)] and len(detail) - len(prefix) <= 200


# --- decide: an explicit LLM without a key, and a snapshot that measured nothing -------------------

def test_decide_with_the_llm_and_no_key_exits_2_with_one_line(argus_env: dict[str, str], run_argus: Any) -> None:
    proc = run_argus("decide", "--decider", "llm", "--metrics", str(SCENARIOS / "disk_92.json"), env=argus_env)
    assert proc.returncode == 2 and proc.stdout == ""
    line = _one_line(proc)
    assert "--decider llm needs ANTHROPIC_API_KEY" in line and "--decider rules" in line
    assert not (Path(argus_env["ARGUS_STATE_DIR"]) / "llm.jsonl").exists()


def test_decide_with_llm_configured_and_no_key_still_previews_the_fallback(argus_env: dict[str, str],
                                                                           run_argus: Any) -> None:
    env = {**argus_env, "ARGUS_DECIDER": "llm"}  # what a cycle would do: the rules decide, and it says so
    proc = run_argus("decide", "--metrics", str(SCENARIOS / "disk_92.json"), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["decider"] == "fallback"
    assert "ARGUS_DECIDER=llm needs ANTHROPIC_API_KEY" in _one_line(proc)


@pytest.mark.parametrize("document", [
    {},
    {"host": "x"},
    {"host": "x", "ts": "2026-01-01T00:00:00Z", "argus_version": "1.0"},
    {"host": "x", "system": {}, "memory": None, "disks": [], "services": []},
], ids=["empty", "host-only", "header-only", "empty-sections"])
def test_decide_refuses_a_snapshot_that_measured_nothing(document: dict[str, Any], argus_env: dict[str, str],
                                                         run_argus: Any) -> None:
    proc = run_argus("decide", "--decider", "rules", "--metrics", "-", env=argus_env, input=json.dumps(document))
    assert proc.returncode == 2 and "nominal" not in proc.stdout.lower()
    assert _one_line(proc).startswith("argus: --metrics - ")


@pytest.mark.parametrize("document", [{"memory": {"percent": 50}},
                                      {"errors": [{"collector": "memory", "error": "boom"}]}],
                         ids=["one-value", "collector-error"])
def test_decide_accepts_a_snapshot_with_one_measurement_or_a_collector_error(
        document: dict[str, Any], argus_env: dict[str, str], run_argus: Any) -> None:
    proc = run_argus("decide", "--decider", "rules", "--metrics", "-", "--json", env=argus_env,
                     input=json.dumps(document))
    assert proc.returncode == 0, proc.stderr


def test_decide_help_says_what_counts_as_measured_nothing(argus_env: dict[str, str], run_argus: Any) -> None:
    flat = " ".join(run_argus("decide", "--help", env=argus_env).stdout.split())
    assert "no collector error is listed is refused (exit 2)" in flat and "ANTHROPIC_API_KEY" in flat


# --- last --json with nothing recorded ------------------------------------------------------------

@pytest.mark.parametrize("args", [("last", "--json"), ("last", "--llm", "--json")], ids=" ".join)
def test_last_json_with_nothing_recorded_prints_null_and_exits_1(args: tuple[str, ...], argus_env: dict[str, str],
                                                                 run_argus: Any) -> None:
    proc = run_argus(*args, env=argus_env)
    assert proc.returncode == 1
    assert proc.stdout == "null\n"
    assert "recorded yet" in _one_line(proc)

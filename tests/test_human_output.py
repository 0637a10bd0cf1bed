"""What a person reads: the human views of collect, patterns, act and cycle, through the real CLI.

Host strings (tmux session names, process names) are data and never rich markup; piped output
keeps one line per result; a skipped cycle says so plainly.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_actions import tmux, tmux_new, tmux_stop

from argus_cli.model import iso_z

START = 1_771_545_600.0  # 2026-02-20T00:00:00Z


@pytest.fixture
def env(argus_env: dict[str, str]) -> dict[str, str]:
    return argus_env


def state(env: dict[str, str]) -> Path:
    return Path(env["ARGUS_STATE_DIR"])


@pytest.fixture
def tmux_socket(tmp_path: Path) -> Iterator[Path]:
    sock = tmp_path / "tmux.sock"
    try:
        yield sock
    finally:
        tmux_stop(sock)


def test_collect_human_view_prints_markup_like_session_names_verbatim(env: dict[str, str], run_argus: Any,
                                                                      tmux_socket: Path) -> None:
    tmux_new(tmux_socket, "[/oops]", "[bold]x")
    assert tmux(tmux_socket, "has-session", "-t", "=[/oops]").returncode == 0
    proc = run_argus("collect", env={**env, "ARGUS_TMUX_SOCKETS": str(tmux_socket)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "[/oops](1)" in proc.stdout and "[bold]x(1)" in proc.stdout


def test_patterns_human_view_prints_markup_like_hog_names_verbatim(tmp_path: Path) -> None:
    from rich.console import Console

    from argus_cli.cli.render_reports import render_patterns, render_stats
    from argus_cli.reports.patterns import compute_patterns
    from argus_cli.reports.stats import compute_stats

    registry = tmp_path / "problems.jsonl"
    line = {"ts": iso_z(START), "severity": "critical", "type": "memory", "action_taken": "alert:telegram",
            "description": "memory 95%; hog_process=[/x],hog_pid=7", "action_result": "[/r]",
            "bead_id": None, "host": "h"}
    registry.write_text("".join(json.dumps(line) + "\n" for _ in range(3)))
    out = io.StringIO()
    console = Console(file=out, no_color=True, width=200)
    render_patterns(console, compute_patterns(registry, tmp_path, START + 60, 7)[0])
    render_stats(console, compute_stats(registry, START + 60, 7)[0])
    # the id is a slug (memory-hog-x-<hash>); the sentences quote the name as it is
    assert "with [/x] as the largest process" in out.getvalue() and "[/r]" in out.getvalue()


def test_piped_human_output_keeps_one_line_per_result(env: dict[str, str], run_argus: Any) -> None:
    decision = {"actions": [{"type": "bogus"}, {"type": "log", "observation": "x" * 150}]}
    proc = run_argus("act", "--decision", "-", "--dry-run", env=env, input=json.dumps(decision))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith("#0 bogus: rejected") and lines[1].startswith("#1 log")
    assert "x" * 150 in lines[1]


def test_a_skipped_cycle_reads_plainly(env: dict[str, str], run_argus: Any) -> None:
    state(env).mkdir(parents=True)
    fd = os.open(state(env) / "cycle.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = run_argus("cycle", env=env)
    finally:
        os.close(fd)
    assert proc.returncode == 0 and "status skipped" in proc.stdout
    assert "None" not in proc.stdout

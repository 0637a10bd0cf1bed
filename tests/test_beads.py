"""Beads through a stand-in ``bd`` on PATH that records its argv and working directory."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers_notify import calls, install_bd, set_mode, wait_dead

from argus_cli.config import Config, load
from argus_cli.model import problem_key
from argus_cli.notify.beads import close_bead, create_bead, create_summary_bead, ensure_bead, find_open_bead

KEY = problem_key("disk", "Disk pressure high 95%")
NOW = 1_771_581_600.0  # 2026-02-20T10:00:00Z


@pytest.fixture
def bd(tmp_path: Path, argus_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", argus_env["PATH"])
    return install_bd(tmp_path / "bin")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "beads-home"
    path.mkdir()
    return path


@pytest.fixture
def cfg(argus_env: dict[str, str], workdir: Path) -> Config:
    return load({**argus_env, "ARGUS_BEADS_WORKDIR": str(workdir), "ARGUS_BD_TIMEOUT": "1"})


def open_beads(bd: Path, beads: object) -> None:
    bd.with_name("bd.list.json").write_text(json.dumps(beads))


def test_finds_the_open_bead_by_exact_key_line(bd: Path, cfg: Config, workdir: Path) -> None:
    open_beads(bd, [
        {"id": "ws-1", "description": f"Problem key: {KEY}0\nnot this one"},  # key as a prefix
        {"id": "ws-2", "title": "no description"},
        "not an object",
        {"id": "ws-3", "description": f"Host: h\n  Problem key: {KEY}  \nmore"},
    ])
    assert find_open_bead(cfg, KEY) == "ws-3"
    assert calls(bd) == [{"argv": ["list", "--status", "open", "--json"], "cwd": str(workdir)}]
    assert find_open_bead(cfg, "disk:0000000000000000") is None


def test_tolerates_a_wrapping_object(bd: Path, cfg: Config) -> None:
    open_beads(bd, {"issues": [{"id": "ws-9", "description": f"Problem key: {KEY}"}]})
    assert find_open_bead(cfg, KEY) == "ws-9"


def test_create_argv_title_and_body(bd: Path, cfg: Config, workdir: Path) -> None:
    bead = create_bead(cfg, "disk", "Disk pressure high 95%", KEY, now=NOW)
    assert bead == "argus-t1"
    (call,) = calls(bd)
    assert call["cwd"] == str(workdir)
    argv = call["argv"]
    body = argv[argv.index("--description") + 1]
    assert argv == ["create", "--title", "[argus] disk: Disk pressure high 95%", "--description", body,
                    "--priority", "2", "--labels", "argus", "--silent"]
    assert body.splitlines()[0] == f"Problem key: {KEY}"
    assert "First seen: 2026-02-20T10:00:00Z" in body and body.rstrip().endswith("Disk pressure high 95%")
    assert body.splitlines()[1].startswith("Host: ")


def test_long_multiline_title_is_one_line_and_truncated(bd: Path, cfg: Config) -> None:
    create_bead(cfg, "process", "line one\nline two " + "z" * 500, KEY)
    title = calls(bd)[0]["argv"][2]
    assert len(title) == 200 and "\n" not in title and title.endswith("…")
    assert title.startswith("[argus] process: line one line two")


def test_ensure_reuses_then_creates(bd: Path, cfg: Config) -> None:
    open_beads(bd, [{"id": "ws-7", "description": f"Problem key: {KEY}"}])
    assert ensure_bead(cfg, "disk", "Disk pressure high 97%", KEY) == "ws-7"
    assert [c["argv"][0] for c in calls(bd)] == ["list"]
    open_beads(bd, [])
    assert ensure_bead(cfg, "disk", "Disk pressure high 97%", KEY) == "argus-t1"
    assert [c["argv"][0] for c in calls(bd)] == ["list", "list", "create"]


def test_close_and_summary(bd: Path, cfg: Config) -> None:
    assert close_bead(cfg, "ws-7", "service healthy again\nafter restart") is True
    assert calls(bd)[0]["argv"] == ["close", "ws-7", "--reason", "service healthy again after restart"]
    assert create_summary_bead(cfg, "[argus] patterns: 2 detected", "body text") == "argus-t1"
    assert calls(bd)[1]["argv"][:5] == ["create", "--title", "[argus] patterns: 2 detected",
                                        "--description", "body text"]


def test_close_refuses_an_id_that_looks_like_a_flag(bd: Path, cfg: Config) -> None:
    assert close_bead(cfg, "--all", "x") is False
    assert calls(bd) == []


@pytest.mark.parametrize("mode", ["fail", "garbage"])
def test_failing_or_garbage_bd_returns_nothing(bd: Path, cfg: Config, mode: str,
                                               capfd: pytest.CaptureFixture[str]) -> None:
    set_mode(bd, mode)
    assert find_open_bead(cfg, KEY) is None
    assert create_bead(cfg, "disk", "d", KEY) is None
    assert ensure_bead(cfg, "disk", "d", KEY) is None
    assert [c["argv"][0] for c in calls(bd)] == ["list", "create", "list"]
    assert close_bead(cfg, "ws-1", "r") is (mode == "garbage")  # exit 0 is all close needs
    err = capfd.readouterr().err.splitlines()
    assert err and all(line.startswith("argus: bd ") for line in err)


def test_hanging_bd_times_out(bd: Path, cfg: Config) -> None:
    set_mode(bd, "hang")
    started = time.monotonic()
    assert ensure_bead(cfg, "disk", "d", KEY) is None
    assert time.monotonic() - started < 3  # killed after ARGUS_BD_TIMEOUT=1
    assert [c["argv"][0] for c in calls(bd)] == ["list"]  # no blind create after a failed list
    pids = bd.with_name("bd.hang-pids").read_text().split()
    assert wait_dead([int(pid) for pid in pids])  # the wrapper and its `sleep 30` grandchild
    set_mode(bd, "ok")
    assert create_bead(cfg, "disk", "d", KEY) == "argus-t1"


def test_missing_bd_or_workdir(argus_env: dict[str, str], tmp_path: Path, bd: Path,
                               capfd: pytest.CaptureFixture[str]) -> None:
    for missing in (str(tmp_path / "nowhere" / "bd"), "no-such-bd"):
        cfg = load({**argus_env, "ARGUS_BD_BIN": missing})
        assert ensure_bead(cfg, "disk", "d", KEY) is None
        assert close_bead(cfg, "ws-1", "r") is False
    assert capfd.readouterr().err == ""  # bd not installed: skipped silently (doctor reports it)
    cfg = load({**argus_env, "ARGUS_BEADS_WORKDIR": str(tmp_path / "gone")})
    assert find_open_bead(cfg, KEY) is None
    assert calls(bd) == []
    assert "working directory" in capfd.readouterr().err  # bd is there, the setup is broken: say so

"""The one child-process runner (argus_cli/children.py) and the tools that go through it:
real children, stand-ins outside PATH handed in as configuration, hung tools killed by group."""

from __future__ import annotations

import ast
import json
import sys
import time
from pathlib import Path

import pytest
from conftest import write_executable
from helpers_actions import use_env
from helpers_children import group_killed, install_hanging

import argus_cli.collectors.tmux as tmux_collector
from argus_cli.children import MAX_OUTPUT, NOT_FOUND, NOT_STARTED, TIMED_OUT, run_tool
from argus_cli.collectors import collect_snapshot, default_collectors
from argus_cli.collectors.context import CollectContext
from argus_cli.collectors.services import check_systemd
from argus_cli.config import load
from argus_cli.doctor import run_checks
from argus_cli.snapshot import TmuxServer

PACKAGE = Path(__file__).resolve().parent.parent / "argus_cli"
PY = sys.executable


# --- the runner -------------------------------------------------------------------------------

def test_exit_code_output_and_stdin_from_dev_null() -> None:
    code = "import sys; print(repr(sys.stdin.read())); sys.stderr.write('bad\\nthing'); sys.exit(3)"
    run = run_tool([PY, "-c", code], timeout=10)
    assert (run.returncode, run.stdout, run.stderr, run.error) == (3, "''\n", "bad\nthing", None)
    assert not run.ok and run.describe() == "exit 3: bad thing"


def test_the_child_environment_has_no_secrets_and_no_tmux(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"ANTHROPIC_API_KEY": "sk-x", "TELEGRAM_BOT_TOKEN": "1:x", "TMUX": "/tmp/s,1,0",
                        "TMUX_PANE": "%1", "ARGUS_KEEP": "yes"}.items():
        monkeypatch.setenv(name, value)
    run = run_tool([PY, "-c", "import json, os; print(json.dumps(dict(os.environ)))"], timeout=10)
    env = json.loads(run.stdout)
    assert not {"ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN", "TMUX", "TMUX_PANE"} & set(env)
    assert env["ARGUS_KEEP"] == "yes"


def test_missing_or_unstartable_tools_are_outcomes_not_exceptions(tmp_path: Path) -> None:
    missing = run_tool([str(tmp_path / "nowhere")], timeout=5)
    assert (missing.failure, missing.error) == (NOT_FOUND, f"{tmp_path / 'nowhere'} not found")
    assert missing.not_found and not missing.ok
    no_dir = run_tool([PY, "-c", "pass"], timeout=5, cwd=tmp_path / "gone")
    assert no_dir.not_found and no_dir.error == f"working directory {tmp_path / 'gone'} not found"
    plain = tmp_path / "plain"
    plain.write_text("not a program")
    assert run_tool([str(plain)], timeout=5).failure == NOT_STARTED


def test_output_is_capped_and_a_flood_does_not_hang() -> None:
    flood = "import os; [os.write(fd, b'x' * (3 << 20)) for fd in (1, 2)]"  # 3 MiB on each stream
    run = run_tool([PY, "-c", flood], timeout=20)
    assert run.returncode == 0 and len(run.stdout) == len(run.stderr) == MAX_OUTPUT


def test_a_hung_tool_is_killed_with_its_process_group(tmp_path: Path) -> None:
    hung = install_hanging(tmp_path / "opt", "tool")
    started = time.monotonic()
    run = run_tool([str(hung)], timeout=0.5)
    assert time.monotonic() - started < 3
    assert (run.failure, run.error) == (TIMED_OUT, f"{hung} timed out after 0.5s") and run.timed_out
    assert group_killed(hung)  # the wrapper and its `sleep 30` grandchild


# --- systemctl and tmux handed in as configuration --------------------------------------------

def _only_empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH holds no systemctl and no tmux: only the configured path can be what runs."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_service_checks_run_the_configured_systemctl(argus_env: dict[str, str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    answer = '[ "$3" = good.service ] && { echo active; exit 0; }\necho failed; exit 3\n'  # $3: is-active -- UNIT
    systemctl = write_executable(tmp_path / "opt" / "my-systemctl", "#!/bin/sh\n" + answer)
    _only_empty_path(monkeypatch, tmp_path)
    config = load({**argus_env, "ARGUS_SYSTEMCTL_BIN": str(systemctl),
                   "ARGUS_SERVICES": "good=systemd:good.service,bad=systemd:bad.service"})
    spec = [s for s in default_collectors() if s.name == "services"]
    snap = collect_snapshot(CollectContext(config), spec)
    assert {s.name: (s.status, s.detail) for s in snap.services} == {
        "good": ("up", "active"), "bad": ("down", "failed")}


def test_a_hung_systemctl_check_is_unknown_and_killed(tmp_path: Path) -> None:
    hung = install_hanging(tmp_path / "opt", "systemctl")
    assert check_systemd("web.service", 0.5, str(hung)) == ("unknown", "systemctl is-active timed out after 0.5s")
    assert group_killed(hung)


def test_a_hung_tmux_is_one_server_detail_and_killed(argus_env: dict[str, str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    hung = install_hanging(tmp_path / "opt", "tmux")
    sock = tmp_path / "tmux.sock"
    sock.touch()  # the collector asks tmux only when the socket exists
    monkeypatch.setattr(tmux_collector, "TMUX_TIMEOUT", 0.5)
    config = load({**argus_env, "ARGUS_TMUX_BIN": str(hung), "ARGUS_TMUX_SOCKETS": str(sock)})
    entry = tmux_collector.list_sessions(config, str(sock))
    assert entry == TmuxServer(socket=str(sock), sessions=(), detail=f"{hung} timed out after 0.5s")
    assert group_killed(hung)


def test_doctor_looks_up_and_asks_the_configured_binaries(argus_env: dict[str, str], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "systemctl.calls"
    systemctl = write_executable(tmp_path / "opt" / "systemctl", f'#!/bin/sh\necho "$*" >> {calls}\necho enabled\n')
    tmux = write_executable(tmp_path / "opt" / "tmux", "#!/bin/sh\nexit 0\n")
    host = tmp_path / "host"
    (host / "etc/systemd/system").mkdir(parents=True)
    (host / "etc/systemd/system/argus.timer").touch()
    (host / "run/systemd/system").mkdir(parents=True)  # systemd "runs": the doctor asks systemctl
    use_env(monkeypatch, {**argus_env, "ARGUS_HOST_ROOT": str(host), "ARGUS_SYSTEMCTL_BIN": str(systemctl),
                          "ARGUS_TMUX_BIN": str(tmux)})
    _only_empty_path(monkeypatch, tmp_path)
    checks = {c.name: c for c in run_checks()}
    assert (checks["systemctl"].level, checks["systemctl"].detail) == ("ok", str(systemctl))
    assert (checks["tmux"].level, checks["tmux"].detail) == ("ok", str(tmux))
    assert checks["timer"].level == "ok" and "enabled" in checks["timer"].detail
    assert calls.read_text() == "is-enabled argus.timer\n"


# --- one way to run a child -------------------------------------------------------------------

def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_only_the_children_module_starts_processes() -> None:
    users = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
             if "subprocess" in _imports(p) or "os.spawn" in p.read_text() or "os.exec" in p.read_text()}
    assert users == {"children.py"}


def test_children_and_tmux_are_leaves() -> None:
    """children.py stands on the stdlib and two leaves (redaction, text); tmux.py on children and config."""
    children = {m for m in _imports(PACKAGE / "children.py") if m.split(".")[0] not in sys.stdlib_module_names}
    assert children == {"argus_cli.redaction", "argus_cli.text"}
    assert {m for m in _imports(PACKAGE / "tmux.py") if m.startswith("argus_cli")} == {
        "argus_cli.children", "argus_cli.config"}


def test_kill_tmux_reaches_tmux_without_the_collectors() -> None:
    assert not [m for m in _imports(PACKAGE / "actions/kill_tmux.py") if m.startswith("argus_cli.collectors")]

"""Shared fixtures: an isolated Argus environment for every test, local API servers, the real CLI."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from argus_cli.config import Config, load

if TYPE_CHECKING:  # imported inside the fixtures: both helpers import write_executable from here
    from helpers_anthropic import FakeAnthropic
    from helpers_notify import FakeTelegram

REPO = Path(__file__).resolve().parent.parent
REAL_REGISTRY = REPO.parent / "shared" / "data" / "problems-real.jsonl"
_OWN_PREFIXES = ("ARGUS_", "ANTHROPIC_", "TELEGRAM_")


@pytest.fixture(autouse=True)
def isolated_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test, whether it asks for ``argus_env`` or not, runs as if on a machine of its own.

    No ARGUS_*, ANTHROPIC_* or TELEGRAM_* setting of the real environment reaches it; its state dir
    (tmp_path/state, not created), HOME (tmp_path/home), host root (tmp_path/host, so clean_disk
    never sees this machine's /tmp) and env file (tmp_path/empty.env) are temp paths. XDG_STATE_HOME
    is removed too, so even a default state dir lands under the temp HOME. A test or fixture that
    sets its own values (monkeypatch.setenv, use_env, an env= dict) runs later and wins.
    """
    for key in [k for k in os.environ if k.startswith(_OWN_PREFIXES)]:
        monkeypatch.delenv(key)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    (tmp_path / "empty.env").write_text("")
    (tmp_path / "home").mkdir()
    (tmp_path / "host").mkdir()
    monkeypatch.setenv("ARGUS_ENV_FILE", str(tmp_path / "empty.env"))
    monkeypatch.setenv("ARGUS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ARGUS_HOST_ROOT", str(tmp_path / "host"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def argus_env(isolated_machine: Path) -> dict[str, str]:
    """A process environment with no Argus settings leaking in, state under tmp_path.

    The same temp paths as ``isolated_machine`` (whose HOME it carries), plus a tmp_path/bin first
    on PATH for stand-in tools and the beads workdir.
    """
    tmp_path = isolated_machine
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    (tmp_path / "bin").mkdir()
    env.update({
        "ARGUS_ENV_FILE": str(tmp_path / "empty.env"),
        "ARGUS_STATE_DIR": str(tmp_path / "state"),
        # A cycle that decides clean_disk must never clean this machine's /tmp: every test's host
        # filesystem is a temp dir unless it says otherwise.
        "ARGUS_HOST_ROOT": str(tmp_path / "host"),
        "ARGUS_BEADS_WORKDIR": str(tmp_path),
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "NO_COLOR": "1",
    })
    return env


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A local Telegram Bot API on 127.0.0.1 (tests/helpers_notify.py), stopped after the test.

    Point a config at it with ``helpers_notify.telegram_env(env, telegram)``.
    """
    from helpers_notify import FakeTelegram, running, stop

    server = running(FakeTelegram())
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture
def anthropic_api() -> Iterator[FakeAnthropic]:
    """A local Anthropic Messages API on 127.0.0.1 (tests/helpers_anthropic.py), stopped after the test.

    Point a config at it with ``helpers_anthropic.llm_env(env, anthropic_api)``; queue replies with
    ``anthropic_api.queue(...)`` or set ``anthropic_api.default``.
    """
    from helpers_anthropic import FakeAnthropic

    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def state_owner() -> Iterator[None]:
    """Run the test as the cycle and `argus act` run: owning the state, so an unusable file it
    reads is moved aside. Outside a cycle or act, library calls only read (ARCHITECTURE.md §4)."""
    from argus_cli.state.files import owning_state

    with owning_state():
        yield


@pytest.fixture
def config_of() -> Callable[[dict[str, str]], Config]:
    """Build the Config an `argus` process would see with this environment."""
    return load


@pytest.fixture
def run_argus() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real CLI in a subprocess: run_argus("collect", "--json", env=env)."""

    def run(*args: str, env: dict[str, str], input: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "argus_cli", *args], env=env, input=input,
                              capture_output=True, text=True, timeout=timeout, check=False)

    return run


def write_executable(path: Path, body: str) -> Path:
    """A small stand-in program (for tools that cannot be installed here: bd, relay, systemctl)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def mounted_tmpfs(mount: Path, options: str) -> Iterator[Path]:
    """A real tmpfs at ``mount`` (created) with mount ``options`` (e.g. ``size=64k,mode=0700``),
    unmounted after; the test is skipped where this process may not mount one."""
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (EPERM in a container?): {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """``immutable(path)`` sets the file immutable (chattr +i; refused even to root); undone after."""
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("chattr +i needs root and e2fsprogs")
    paths: list[Path] = []

    def make(path: Path) -> None:
        path.touch()
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode != 0:
            pytest.skip("this filesystem has no immutable flag")
        paths.append(path)
    yield make
    for path in paths:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)

"""Shared fixtures: an isolated Argus environment and a way to run the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from argus_cli.config import Config, load

REPO = Path(__file__).resolve().parent.parent
REAL_REGISTRY = REPO.parent / "shared" / "data" / "problems-real.jsonl"
_OWN_PREFIXES = ("ARGUS_", "ANTHROPIC_", "TELEGRAM_")


@pytest.fixture
def argus_env(tmp_path: Path) -> dict[str, str]:
    """A process environment with no Argus settings leaking in, state under tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    (tmp_path / "empty.env").write_text("")
    (tmp_path / "bin").mkdir()
    (tmp_path / "host").mkdir()
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

"""The checks behind ``argus doctor``: required ones fail, optional ones warn."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argus_cli.children import run_tool
from argus_cli.config import Config, ConfigError, load
from argus_cli.model import iso_z
from argus_cli.runtime.records import CYCLE_STATE
from argus_cli.state.directory import StateDirError
from argus_cli.state.directory import check_state_dir as check_safe_state_dir
from argus_cli.state.files import PRIVATE_DIR_MODE, read_regular


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # ok | warn | FAIL
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def run_checks() -> list[Check]:
    try:
        config = load()
    except ConfigError as exc:
        return [Check("config", "FAIL", str(exc))]
    source = f"env file {config.env_file}" if config.env_file else "environment and defaults"
    checks = [Check("config", "ok", f"valid ({source})"),
              check_state_dir(config.state_dir), check_prompt(Path(config["ARGUS_PROMPT_FILE"]))]
    systemctl = config["ARGUS_SYSTEMCTL_BIN"]
    checks += [check_binary("tmux", config["ARGUS_TMUX_BIN"]), check_binary("systemctl", systemctl),
               check_binary("bd", config["ARGUS_BD_BIN"]), check_relay(config),
               check_api_key(config), check_telegram(config)]
    checks += [check_timer(Path(config["ARGUS_HOST_ROOT"]), systemctl=systemctl),
               check_last_cycle(config.state_dir, time.time())]
    return checks


def check_state_dir(state_dir: Path) -> Check:
    try:  # the same refusal `argus cycle` and `argus act` would meet (others can write it, read-only)
        check_safe_state_dir(state_dir)
    except StateDirError as exc:
        return Check("state dir", "FAIL", str(exc))
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
        with tempfile.NamedTemporaryFile(dir=state_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("state dir", "FAIL", f"{state_dir} is not writable: {exc.strerror or exc}")
    return Check("state dir", "ok", f"{state_dir} is writable")


def check_prompt(prompt: Path) -> Check:
    try:
        size = len(prompt.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return Check("prompt", "FAIL", f"{prompt} is not readable: {exc}")
    if size == 0:
        return Check("prompt", "FAIL", f"{prompt} is empty")
    return Check("prompt", "ok", f"{prompt} ({size} chars)")


def check_binary(name: str, binary: str) -> Check:
    found = shutil.which(binary)
    if found:
        return Check(name, "ok", found)
    return Check(name, "warn", f"{binary} not found on PATH; the features that need it are skipped")


def check_relay(config: Config) -> Check:
    if not config["ARGUS_RELAY_ENABLED"]:
        return Check("relay", "ok", "disabled (ARGUS_RELAY_ENABLED=false)")
    return check_binary("relay", config["ARGUS_RELAY_BIN"])


def check_api_key(config: Config) -> Check:
    if config.has_api_key:
        return Check("api key", "ok", f"set; decider {config['ARGUS_DECIDER']}, model {config['ARGUS_MODEL']}")
    return Check("api key", "warn", "ANTHROPIC_API_KEY unset: the rules engine decides every cycle")


def check_telegram(config: Config) -> Check:
    if config.telegram_configured:
        return Check("telegram", "ok", f"chat {config['TELEGRAM_CHAT_ID']} via {config['ARGUS_TELEGRAM_API_BASE']}")
    missing = [n for n in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID") if not config[n]]
    return Check("telegram", "warn", f"{' and '.join(missing)} unset: alerts are recorded, not sent")


# --- Deployment: is anything scheduled to run `argus cycle`, and did it run lately? ---

STALE_CYCLE_SECONDS = 15 * 60  # three missed 5-minute cycles
_UNIT_DIRS = ("etc/systemd/system", "usr/lib/systemd/system", "lib/systemd/system")


def check_timer(root: Path, *, systemctl: str = "systemctl") -> Check:
    """argus.timer or /etc/cron.d/argus under ``root`` (ARGUS_HOST_ROOT); a warning when neither."""
    unit = next((root / d / "argus.timer" for d in _UNIT_DIRS if (root / d / "argus.timer").is_file()), None)
    if unit is not None:
        return _timer_enabled(root, unit, systemctl)
    cron = root / "etc/cron.d/argus"
    if cron.is_file():
        return Check("timer", "ok", f"crontab {cron}")
    return Check("timer", "warn", f"no argus.timer under {root / _UNIT_DIRS[0]} and no {cron}: cycles run only "
                                  "when started by hand (scripts/install.sh installs the timer)")


def _timer_enabled(root: Path, unit: Path, systemctl: str) -> Check:
    if not (root / "run/systemd/system").is_dir():
        return Check("timer", "ok", f"{unit} installed (systemd is not running here: enabled state unknown)")
    argv = [systemctl, "is-enabled", "argus.timer"]
    run = run_tool(argv, timeout=5)
    if run.error:
        return Check("timer", "warn", f"{unit} installed; {' '.join(argv)} failed: {run.error}")
    answer = (run.stdout.strip() or run.stderr.strip() or f"exit {run.returncode}").splitlines()[0]
    if run.returncode == 0:
        return Check("timer", "ok", f"{unit} {answer}")
    return Check("timer", "warn", f"{unit} installed but {' '.join(argv)} says {answer!r}: "
                                  "run `systemctl enable --now argus.timer`")


def check_last_cycle(state_dir: Path, now: float) -> Check:
    """When the last cycle ran and how it ended (``cycle-state.json``), read without changing it."""
    path = state_dir / CYCLE_STATE
    try:
        state = json.loads(read_regular(path))  # never through a symlink planted there
    except FileNotFoundError:
        return Check("last cycle", "warn", f"none recorded ({path} does not exist): is the timer running?")
    except (OSError, ValueError) as exc:
        return Check("last cycle", "warn", f"{path} is unreadable: {exc}")
    when = _epoch(state.get("timestamp")) if isinstance(state, dict) else None
    if when is None:
        return Check("last cycle", "warn", f"{path} has no usable timestamp")
    summary = f"{state.get('status', '?')} at {iso_z(when)} ({_age_text(now - when)} ago)"
    if now - when > STALE_CYCLE_SECONDS:
        return Check("last cycle", "warn", f"{summary}: older than 15 min, is the timer running?")
    if state.get("status") == "failed":
        failures = state.get("consecutive_failures", "?")
        return Check("last cycle", "warn", f"{summary}: {state.get('detail', '')} ({failures} in a row)")
    return Check("last cycle", "ok", summary)


def _epoch(value: Any) -> float | None:
    """An epoch number or an ISO-8601 string (``Z`` or an offset; naive means UTC)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _age_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"

"""The checks behind ``argus doctor``: required ones fail, optional ones warn."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from argus_cli.config import Config, ConfigError, load


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
    checks += [check_binary("tmux", "tmux"), check_binary("systemctl", "systemctl"),
               check_binary("bd", config["ARGUS_BD_BIN"]), check_relay(config),
               check_api_key(config), check_telegram(config)]
    return checks


def check_state_dir(state_dir: Path) -> Check:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
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



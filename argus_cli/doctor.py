"""The checks behind ``argus doctor``: required ones fail, optional ones warn."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from argus_cli.children import run_tool
from argus_cli.config import GOVERNED_ACTIONS, Config, ConfigError, load, unknown_names
from argus_cli.model import iso_z
from argus_cli.state import layout
from argus_cli.state.directory import StateDirError
from argus_cli.state.directory import check_state_dir as check_safe_state_dir
from argus_cli.state.files import PRIVATE_DIR_MODE


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # ok | warn | FAIL | skip (an online check with nothing configured to try)
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def run_checks(*, online: bool = False, send_test: bool = False) -> list[Check]:
    """Every check; ``online`` adds the ones that call the LLM and Telegram (``online_checks``),
    ``send_test`` a test message as well. Without them nothing goes on the network."""
    try:
        config = load()
    except ConfigError as exc:
        return [Check("config", "FAIL", str(exc))]
    source = f"env file {config.env_file}" if config.env_file else "environment and defaults"
    checks = [Check("config", "ok", f"valid ({source})"), *check_unknown_names(config),
              check_state_dir(config.state_dir), check_prompt(config.prompt_file)]
    checks += [check_disk_path(path) for path in config.disk_paths]
    systemctl = config.systemctl_bin
    checks += [check_binary("tmux", config.tmux_bin), check_binary("systemctl", systemctl),
               check_binary("bd", config.bd_bin), check_relay(config),
               check_api_key(config), check_telegram(config), check_autonomy(config, time.time())]
    checks += [check_timer(Path(config.host_root), systemctl=systemctl),
               check_last_cycle(config.state_dir, time.time())]
    if config.prometheus_textfile is not None:
        checks.append(check_prometheus_textfile(config.prometheus_textfile, time.time()))
    if online or send_test:
        from argus_cli.online_checks import run_online_checks

        checks += run_online_checks(config, send_test=send_test)
    return checks


def check_unknown_names(config: Config, env: Mapping[str, str] | None = None) -> list[Check]:
    """A warning for each ARGUS_*, TELEGRAM_* or ANTHROPIC_* name nothing reads (a typo such as
    ARGUS_DEDUP_WINDOWS leaves the default in force), with the closest setting. Names only."""
    try:
        found = unknown_names(os.environ if env is None else env, config.env_file)
    except ConfigError as exc:  # the env file changed since it was loaded
        return [Check("config", "FAIL", str(exc))]
    return [Check("config", "warn", line) for line in found]


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


def check_disk_path(path: str) -> Check:
    """What the disks collector measures for one of ``ARGUS_DISK_PATHS``. A path it cannot measure
    fails: the value names nothing, and every cycle reports it as a disks collector error. One that
    is not a mount point (an unmounted /data) is measured as the filesystem it is on: a warning,
    since its usage is another filesystem's."""
    try:
        os.statvfs(path)  # what shutil.disk_usage, and so the collector, asks
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Check("disk path", "FAIL", f"{path} cannot be measured ({reason}): every cycle reports it as "
                                          "a disks collector error (ARGUS_DISK_PATHS)")
    real = os.path.realpath(path)  # a symlink to a mount point measures that mount
    mount = mount_point_of(real)
    if mount != real:
        return Check("disk path", "warn", f"{path} is not a mount point: it measures the filesystem of {mount} instead")
    shown = path if real == os.path.abspath(path) else f"{path} ({real})"
    return Check("disk path", "ok", f"{shown} is a mount point")


def mount_point_of(path: str) -> str:
    """The mount point of the filesystem ``path`` (absolute, symlinks resolved) is on."""
    probe = path
    while not os.path.ismount(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    return probe


def check_binary(name: str, binary: str) -> Check:
    found = shutil.which(binary)
    if found:
        return Check(name, "ok", found)
    return Check(name, "warn", f"{binary} not found on PATH; the features that need it are skipped")


def check_relay(config: Config) -> Check:
    if not config.relay_enabled:
        return Check("relay", "ok", "disabled (ARGUS_RELAY_ENABLED=false)")
    return check_binary("relay", config.relay_bin)


def check_api_key(config: Config) -> Check:
    if config.has_api_key:
        return Check("api key", "ok", f"set; decider {config.decider}, model {config.model}")
    return Check("api key", "warn", "ANTHROPIC_API_KEY unset: the rules engine decides every cycle")


def check_autonomy(config: Config, now: float) -> Check:
    """What Argus may do on its own now, and when the next maintenance window holds it back. Asking
    with no Telegram works (``argus approve``) but nobody is told that something waits."""
    from argus_cli.control.maintenance import active, next_start
    window = found[0] if (found := active(config.maintenance, now)) is not None else None
    text = f"ARGUS_AUTONOMY={config.autonomy}"
    if window is not None:
        text += f"; now inside the maintenance window {window.text}: everything is observed"
    elif (upcoming := next_start(config.maintenance, now)) is not None:
        text += f"; next maintenance window {upcoming[0].text} at {iso_z(upcoming[1])}"
    asks = any(config.autonomy.level(kind) == "ask" for kind in GOVERNED_ACTIONS)
    if asks and not config.telegram_configured:
        return Check("autonomy", "warn", f"{text}: Telegram is not configured, so requests wait unannounced "
                                         "(argus pending lists them, argus approve answers)")
    if asks and not config.approvers and not config.telegram_chat_id.strip().isdigit():
        return Check("autonomy", "warn", f"{text}: TELEGRAM_CHAT_ID is a group or channel and ARGUS_APPROVERS "
                                         "is unset, so every button press is refused (set it to the Telegram "
                                         "user ids that may approve; argus approve works meanwhile)")
    return Check("autonomy", "ok", text)


def check_telegram(config: Config) -> Check:
    if config.telegram_configured:
        return Check("telegram", "ok", f"chat {config.telegram_chat_id} via {config.telegram_api_base}")
    missing = [name for name, value in (("TELEGRAM_BOT_TOKEN", config.telegram_bot_token),
                                        ("TELEGRAM_CHAT_ID", config.telegram_chat_id)) if not value]
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


_MODE_NOTE = {"observe": ", observe mode: actions recorded, not run",
              "dry-run": ", a dry run (argus cycle --dry-run): nothing was changed or sent"}


def check_last_cycle(state_dir: Path, now: float) -> Check:
    """When the last cycle ran and how it ended (``cycle-state.json``), read as the cycle reads it.
    The doctor only reads: a bad file is named here and left for the cycle."""
    path = layout.CYCLE_STATE.path(state_dir)
    notes: list[str] = []
    state = None
    try:
        state = layout.CYCLE_STATE.read(state_dir, notes.append)
    except OSError as exc:
        notes.append(f"{path}: {exc.strerror or exc}")
    if notes:
        return Check("last cycle", "warn", f"unreadable: {notes[0].removeprefix('argus: ')}")
    if state is None:
        return Check("last cycle", "warn", f"none recorded ({path} does not exist): is the timer running?")
    when = _epoch(state.timestamp)
    if when is None:
        return Check("last cycle", "warn", f"{path} has no usable timestamp")
    summary = (f"{state.status or '?'} at {iso_z(when)} ({_age_text(now - when)} ago)"
               + _MODE_NOTE.get(state.mode or "", ""))
    if now - when > STALE_CYCLE_SECONDS:
        return Check("last cycle", "warn", f"{summary}: older than 15 min, is the timer running?")
    if state.status == "failed":
        failures = state.consecutive_failures if isinstance(state.consecutive_failures, int | float) else "?"
        return Check("last cycle", "warn", f"{summary}: {state.detail or ''} ({failures} in a row)")
    return Check("last cycle", "ok", summary)


def check_prometheus_textfile(path: Path, now: float) -> Check:
    """Can a cycle write ARGUS_PROMETHEUS_TEXTFILE (a temp file is tried there), and when did one last."""
    from argus_cli.runtime.textfile import obstacle, written_ago
    problem = obstacle(path)
    if problem is not None:
        return Check("prometheus", "FAIL", f"ARGUS_PROMETHEUS_TEXTFILE: {problem}; every cycle records it as an error")
    age = written_ago(path, now)
    when = "not written yet" if age is None else f"written {_age_text(age)} ago"
    return Check("prometheus", "ok", f"{path} ({when}); {path.parent} is writable")


def _epoch(value: str) -> float | None:
    """An ISO-8601 time (``Z`` or an offset; naive means UTC)."""
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

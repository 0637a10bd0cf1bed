"""Configuration: process environment, then an env file, then defaults (ARCHITECTURE.md §5).

Every variable is declared once in ``VARIABLES``; the loader, the validation, ``argus doctor``
and ``argus.env.example`` are all derived from that table, so they cannot drift apart.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

SECRET_NAMES = frozenset({"ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN"})
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class ConfigError(ValueError):
    """A variable holds a value Argus cannot use. The message names variable, value and range."""

    def __init__(self, name: str, value: str, allowed: str) -> None:
        shown = "<hidden>" if name in SECRET_NAMES else repr(value)
        super().__init__(f"{name}={shown} is invalid: expected {allowed}")
        self.name = name


class Var(NamedTuple):  # a NamedTuple: ~60 of them are built at every start, cheaply
    name: str
    default: str
    comment: str
    kind: str = "str"  # str | int | float | bool | list | secret
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()


def _pct(name: str, default: int, comment: str) -> Var:
    return Var(name, str(default), comment, "int", 1, 100)


# Upper bounds are what the code can handle, not just what is sensible: a window is subtracted
# from "now" and printed as a date (year 1 .. 9999), so 10 years is the longest any may be.
DAY = 86_400
WEEK = 7 * DAY
TEN_YEARS = 3650 * DAY  # 315360000


VARIABLES: tuple[Var, ...] = (
    Var("ARGUS_STATE_DIR", "", "State directory (default $XDG_STATE_HOME/argus or ~/.local/state/argus)"),
    Var("ARGUS_LOG_DIR", "", "Log directory for argus.log (default <state>/logs)"),
    Var("ARGUS_PROBLEMS_FILE", "", "Problem registry (default <state>/problems.jsonl)"),
    Var("ARGUS_DECIDER", "auto", "auto = llm when ANTHROPIC_API_KEY is set, else rules",
        choices=("auto", "llm", "rules")),
    Var("ANTHROPIC_API_KEY", "", "Anthropic API key; unset = rules engine decides", "secret"),
    Var("ANTHROPIC_BASE_URL", "", "Anthropic API base URL, as the SDK reads it"),
    Var("ARGUS_MODEL", "claude-haiku-4-5", "Model id for the LLM decider"),
    Var("ARGUS_LLM_TIMEOUT", "60", "Seconds per LLM call", "int", 5, 300),
    Var("ARGUS_LLM_EVERY_CYCLE", "false", "true = ask the LLM every cycle, as the original did", "bool"),
    Var("ARGUS_LLM_HEARTBEAT_SECONDS", "21600", "Ask the LLM at least this often even when all is nominal",
        "int", 1, TEN_YEARS),
    Var("ARGUS_LLM_BACKOFF_BASE_SECONDS", "300", "First cooldown after an LLM failure (doubles)", "int", 1, DAY),
    Var("ARGUS_LLM_BACKOFF_MAX_SECONDS", "7200", "Longest cooldown after LLM failures", "int", 1, WEEK),
    Var("ARGUS_LLM_RATE_LIMIT_MIN_SECONDS", "1800", "Minimum cooldown after an HTTP 429", "int", 1, DAY),
    Var("ARGUS_PROMPT_FILE", "", "System prompt file (default: the packaged prompt.md)"),
    Var("ARGUS_HISTORY_CYCLES", "6", "Past cycles summarised into the LLM's input", "int", 0, 50),
    Var("ARGUS_SERVICES", "", "Health checks: name=systemd:UNIT | name=tcp:HOST:PORT | name=http(s)://URL",
        "list"),
    Var("ARGUS_ALLOWED_SERVICES", "", "systemd units restart_service may restart", "list"),
    Var("ARGUS_KILL_ALLOWLIST", "node,claude,codex", "Process names kill_pid may kill", "list"),
    Var("ARGUS_TMUX_SOCKETS", "default", "tmux servers to inspect: default or socket paths", "list"),
    Var("ARGUS_ORPHAN_SWEEP", "true", "false = never kill orphaned test processes (they are still reported)",
        "bool"),
    Var("ARGUS_ORPHAN_PATTERN", "node.* --test( |$)",
        "Regex for orphaned test processes; one that matches the empty string or everything is refused"),
    Var("ARGUS_ORPHAN_KILL_THRESHOLD", "3", "Consecutive cycles an orphan is seen before it is killed",
        "int", 1, 1000),
    Var("ARGUS_ORPHAN_MAX_KILLS", "10", "Most orphans the sweep kills in one cycle (the rest are reported)",
        "int", 1, 1000),
    Var("ARGUS_DISK_PATHS", "/", "Mount points to watch", "list"),
    _pct("ARGUS_MEMORY_WARN_PCT", 80, "Memory warning threshold (percent)"),
    _pct("ARGUS_MEMORY_CRIT_PCT", 90, "Memory critical threshold (percent)"),
    _pct("ARGUS_DISK_WARN_PCT", 80, "Disk warning threshold (percent)"),
    _pct("ARGUS_DISK_CRIT_PCT", 90, "Disk critical threshold (percent)"),
    _pct("ARGUS_SWAP_WARN_PCT", 50, "Swap warning threshold (percent)"),
    Var("ARGUS_LOAD_FACTOR", "2.0", "Load per core that counts as high", "float", 0.0, 1000),
    Var("ARGUS_MIN_FREE_MB", "100", "Disk guard: below this many MB free, skip the LLM and alert", "int", 1,
        1_048_576),
    Var("ARGUS_FRESHNESS", "",
        "name=PATH:MAX_AGE_SECONDS (1 to 315360000): warn when nothing under PATH changed for that long", "list"),
    Var("ARGUS_COLLECT_TIMEOUT", "5", "Seconds each collector may take before it is reported as hung",
        "int", 1, 300),
    Var("ARGUS_DEDUP_WINDOW", "3600", "Seconds during which a repeated alert is suppressed", "int", 1,
        TEN_YEARS),
    Var("ARGUS_DEDUP_RETENTION_SECONDS", "86400", "Seconds before a dedup key is forgotten", "int", 1, TEN_YEARS),
    Var("ARGUS_DISK_CLEAN_MAX_AGE_DAYS", "7", "clean_disk removes entries older than this", "int", 1, 365),
    Var("ARGUS_DISK_CLEAN_DRY_RUN", "false", "true = clean_disk only reports what it would remove", "bool"),
    Var("ARGUS_HOST_ROOT", "/", "Where the host filesystem is mounted (clean_disk roots resolve under it)"),
    Var("ARGUS_RESTART_BACKOFF_SECOND_DELAY", "60", "Seconds before a second restart attempt", "int", 1, DAY),
    Var("ARGUS_RESTART_BACKOFF_THIRD_DELAY", "300", "Seconds before a third restart attempt", "int", 1, DAY),
    Var("ARGUS_RESTART_COOLDOWN_SECONDS", "3600", "Cooldown after a restart loop is detected", "int", 1, TEN_YEARS),
    Var("ARGUS_BOOT_GRACE_SECONDS", "120", "After boot, service-down findings are logged, not escalated",
        "int", 0, DAY),
    Var("ARGUS_SYSTEMCTL_BIN", "systemctl", "systemctl for service checks and restart_service (name or path)"),
    Var("ARGUS_TMUX_BIN", "tmux", "tmux for the tmux collector and kill_tmux (name or path)"),
    Var("ARGUS_BD_BIN", "bd", "beads CLI"),
    Var("ARGUS_BEADS_WORKDIR", ".", "Directory bd runs in"),
    Var("ARGUS_BD_TIMEOUT", "10", "Seconds per bd call", "int", 1, 300),
    Var("ARGUS_BEAD_PRIORITY", "2", "Priority of created beads", "int", 0, 4),
    Var("ARGUS_BEAD_REPEAT_THRESHOLD", "3", "Recurrences within the window that create a bead", "int", 1, 1000),
    Var("ARGUS_BEAD_REPEAT_WINDOW_SECONDS", "86400", "Window for counting recurrences", "int", 1, TEN_YEARS),
    Var("ARGUS_RELAY_ENABLED", "true", "Publish problems to Relay", "bool"),
    Var("ARGUS_RELAY_BIN", "relay", "Relay CLI"),
    Var("ARGUS_RELAY_TO", "athena", "Relay recipient"),
    Var("ARGUS_RELAY_FROM", "argus", "Relay sender"),
    Var("ARGUS_RELAY_TIMEOUT", "5", "Seconds per relay call", "int", 1, 300),
    Var("ARGUS_RELAY_FALLBACK_FILE", "", "Where problems go when Relay fails (default <state>/relay-fallback.jsonl)"),
    Var("ARGUS_RELAY_SUMMARY_ENABLED", "true", "Send the daily summary to Relay", "bool"),
    Var("ARGUS_RELAY_SUMMARY_FALLBACK_FILE", "",
        "Where summaries go when Relay fails (default <state>/relay-summary-fallback.jsonl)"),
    Var("ARGUS_DASHBOARD_URL", "", "Link included in the daily summary"),
    Var("TELEGRAM_BOT_TOKEN", "", "Telegram bot token; unset = alerts are recorded, not sent", "secret"),
    Var("TELEGRAM_CHAT_ID", "", "Telegram chat id"),
    Var("ARGUS_TELEGRAM_API_BASE", "https://api.telegram.org", "Telegram Bot API base URL"),
    Var("ARGUS_TELEGRAM_MAX_PER_CYCLE", "20", "Most Telegram messages one cycle sends (the rest stay queued)",
        "int", 1, 1000),
    Var("ARGUS_TELEGRAM_BUDGET_SECONDS", "30", "Time one cycle may spend delivering Telegram messages",
        "int", 1, 600),
    Var("ARGUS_STATS_WINDOW_DAYS", "7", "Window of argus stats", "int", 1, 3650),
    Var("ARGUS_PATTERN_WINDOW_DAYS", "7", "Window of argus patterns", "int", 1, 3650),
    Var("ARGUS_CYCLE_TIMEOUT", "240", "Hard limit for one cycle, seconds", "int", 1, 3600),
)
VARS_BY_NAME = {v.name: v for v in VARIABLES}


class ServiceCheck(NamedTuple):
    name: str
    check: str  # systemd:UNIT | tcp:HOST:PORT | http(s)://...


class FreshnessCheck(NamedTuple):
    name: str
    path: str
    max_age_seconds: int


class Config:
    """Validated, read-only settings. The repr leaves the values out, so a traceback or a log line
    can never show a secret. (A plain class: a dataclass costs ~1.5 ms of code generation at every
    start, and Argus starts every five minutes.)"""

    __slots__ = ("env_file", "values")

    def __init__(self, values: Mapping[str, Any], env_file: Path | None = None) -> None:
        self.values: Mapping[str, Any] = MappingProxyType(dict(values))
        self.env_file = env_file

    def __repr__(self) -> str:
        return f"Config(env_file={self.env_file!r})"

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def state_dir(self) -> Path:
        return Path(self.values["ARGUS_STATE_DIR"])

    @property
    def log_dir(self) -> Path:
        return Path(self.values["ARGUS_LOG_DIR"])

    @property
    def problems_file(self) -> Path:
        return Path(self.values["ARGUS_PROBLEMS_FILE"])

    @property
    def services(self) -> tuple[ServiceCheck, ...]:
        return self.values["_services"]

    @property
    def freshness(self) -> tuple[FreshnessCheck, ...]:
        return self.values["_freshness"]

    @property
    def has_api_key(self) -> bool:
        return bool(self.values["ANTHROPIC_API_KEY"])

    @property
    def telegram_configured(self) -> bool:
        return bool(self.values["TELEGRAM_BOT_TOKEN"] and self.values["TELEGRAM_CHAT_ID"])

    def secrets(self) -> tuple[str, ...]:
        """Secret values in force, for redaction of anything that leaves the process."""
        return tuple(v for n in SECRET_NAMES if (v := self.values.get(n)))

    def path(self, name: str, default_name: str) -> Path:
        """A file variable, or ``<state>/default_name`` when it is unset."""
        value = self.values.get(name) or ""
        return Path(value) if value else self.state_dir / default_name


class EnvFileError(ConfigError):
    """A line of the env file that Argus will not guess about. The message names file and line and
    never the value, which may be a secret."""

    def __init__(self, source: str, lineno: int, why: str) -> None:
        ValueError.__init__(self, f"{source}:{lineno}: {why}")
        self.name = "ARGUS_ENV_FILE"


class _Refused(Exception):
    """Why one line is refused; parse_env_file adds the file and the line number."""


_ASSIGNMENT = re.compile(r"(?:export[ \t]+)?([^=]*)=(.*)", re.DOTALL)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BLANKS = " \t"
_OPERATORS = ";&|<>()"  # unquoted, the shell would end the command, pipe or redirect
_DQ_ESCAPES = '\\"$`'  # what a backslash escapes inside double quotes (elsewhere it stays)


def parse_env_file(text: str, source: str = "env file") -> dict[str, str]:
    """``NAME=VALUE`` lines, each value read as ``sh`` reads one word: an optional ``export``;
    single quotes literal; in double quotes a backslash escapes only a backslash, ``"``, ``$`` and
    a backquote; outside quotes it escapes any character; ``#`` starts a comment only after a
    blank (``web=https://h/x#frag`` keeps it). What sh would refuse, expand or run (an unterminated
    quote, ``$``, an unquoted blank or operator) is an EnvFileError naming ``source`` and the line,
    never a silently different value: an operator may source the file, systemd may read it, and
    neither must see something else than Argus does."""
    out: dict[str, str] = {}
    for lineno, raw in enumerate(text.removeprefix("\ufeff").split("\n"), 1):  # an editor's BOM
        line = raw.removesuffix("\r").lstrip(_BLANKS)
        if not line or line.startswith("#"):
            continue
        try:
            name, value = _parse_assignment(line)
        except _Refused as why:
            raise EnvFileError(source, lineno, str(why)) from None
        out[name] = value
    return out


def _parse_assignment(line: str) -> tuple[str, str]:
    match = _ASSIGNMENT.fullmatch(line)
    if match is None:
        raise _Refused("expected NAME=VALUE")
    name = match.group(1)
    if not _ENV_NAME.fullmatch(name):
        raise _Refused("the text before '=' is not a variable name "
                       "([A-Za-z_][A-Za-z0-9_]*, no spaces around '=')")
    try:
        return name, _parse_value(match.group(2))
    except _Refused as why:
        raise _Refused(f"{name}: {why}") from None


def _parse_value(raw: str) -> str:
    """One shell word; after it only blanks and a comment may follow."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char in _BLANKS:
            _expect_end(raw[i:].lstrip(_BLANKS))
            break
        if char == "'":
            end = raw.find("'", i + 1)
            if end < 0:
                raise _Refused("unterminated single quote")
            out.append(raw[i + 1:end])
            i = end + 1
        elif char == '"':
            text, i = _double_quoted(raw, i + 1)
            out.append(text)
        elif char == "\\":
            if i + 1 == len(raw):
                raise _Refused("the line ends in a backslash (continuation lines are not supported)")
            out.append(raw[i + 1])
            i += 2
        else:
            _check_unquoted(raw, i)
            out.append(char)
            i += 1
    return "".join(out)


def _expect_end(rest: str) -> None:
    if rest and not rest.startswith("#"):
        raise _Refused("unquoted blank in the value: the shell would run the rest as a command; "
                       "quote the value")


def _double_quoted(raw: str, start: int) -> tuple[str, int]:
    """The text of a double-quoted string starting after its quote, and the index after it."""
    out: list[str] = []
    i = start
    while i < len(raw):
        char = raw[i]
        if char == '"':
            return "".join(out), i + 1
        if char == "\\" and i + 1 < len(raw) and raw[i + 1] in _DQ_ESCAPES:
            out.append(raw[i + 1])
            i += 2
            continue
        if char in "$`":
            raise _Refused(f"{char} in double quotes: the shell would expand it, systemd would not; "
                           f"use single quotes or \\{char}")
        out.append(char)
        i += 1
    raise _Refused("unterminated double quote")


def _check_unquoted(raw: str, i: int) -> None:
    char = raw[i]
    if char in "$`":
        raise _Refused(f"unquoted {char}: the shell would expand it, systemd would not; "
                       "put the value in single quotes")
    if char in _OPERATORS:
        raise _Refused(f"unquoted {char}: the shell would read it as an operator; quote the value")
    if char == "~" and (i == 0 or raw[i - 1] == ":"):
        raise _Refused("unquoted ~: the shell would expand it to a home directory, Argus would not; "
                       "write the path out")


def find_env_file(env: Mapping[str, str]) -> Path | None:
    if env.get("ARGUS_ENV_FILE"):
        return Path(env["ARGUS_ENV_FILE"])
    for candidate in (Path("argus.env"), Path("/etc/argus/argus.env")):
        if candidate.is_file():
            return candidate
    return None


def load(env: Mapping[str, str] | None = None, env_file: Path | None = None) -> Config:
    """Build the Config from ``env`` (default: os.environ) layered over the env file."""
    env = os.environ if env is None else env
    env_file = env_file or find_env_file(env)
    file_values = _read_env_file(env_file) if env_file is not None else {}
    values: dict[str, Any] = {}
    for var in VARIABLES:
        raw = env.get(var.name, file_values.get(var.name, var.default))
        values[var.name] = _convert(var, raw.strip())
    _fill_paths(values, env)
    values["_services"] = tuple(_parse_service(s) for s in values["ARGUS_SERVICES"])
    values["_freshness"] = tuple(_parse_freshness(s) for s in values["ARGUS_FRESHNESS"])
    _check_pairs(values)
    return Config(values=values, env_file=env_file)


ENV_FILE_MAX_BYTES = 1024 * 1024  # a real env file is a few KiB; /dev/zero is not one


def _read_env_file(path: Path) -> dict[str, str]:
    data = _read_regular_file(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvFileError(str(path), data.count(b"\n", 0, exc.start) + 1, "not UTF-8 text") from None
    return parse_env_file(text, str(path))


def _read_regular_file(path: Path) -> bytes:
    """The env file's bytes. A FIFO would block the process for good (before any time limit is
    armed) and a device like /dev/zero never ends: only a regular file (or /dev/null-like
    character device) is read, and at most ENV_FILE_MAX_BYTES of it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigError("ARGUS_ENV_FILE", str(path), f"a readable file ({exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):  # /dev/null is a fine empty env file
            raise ConfigError("ARGUS_ENV_FILE", str(path), "a regular file")
        data = _read_up_to(fd, ENV_FILE_MAX_BYTES + 1)
    except OSError as exc:  # a terminal with nothing to read (EAGAIN), an I/O error
        raise ConfigError("ARGUS_ENV_FILE", str(path), f"a readable file ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > ENV_FILE_MAX_BYTES:
        raise ConfigError("ARGUS_ENV_FILE", str(path), f"a file of at most {ENV_FILE_MAX_BYTES // 1024} KiB")
    return data


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit and (chunk := os.read(fd, min(65536, limit - size))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _convert(var: Var, raw: str) -> Any:
    converters: dict[str, Callable[[Var, str], Any]] = {
        "int": _to_int, "float": _to_float, "bool": _to_bool, "list": _to_list,
    }
    if "\x00" in raw:  # no path, URL or token holds a NUL; the shell drops it, os.open refuses it
        raise ConfigError(var.name, raw.replace("\x00", "\\0"), "a value without NUL bytes")
    value = converters.get(var.kind, _to_str)(var, raw)
    if var.choices and value not in var.choices:
        raise ConfigError(var.name, raw, "one of " + ", ".join(var.choices))
    return value


def _to_str(var: Var, raw: str) -> str:
    return raw


def _range_text(var: Var) -> str:
    if var.kind == "float":
        return f"a number > {var.lo:g} and <= {var.hi:g}"
    return f"an integer from {var.lo:.0f} to {var.hi:.0f}"  # every number has both bounds (a test checks)


_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def _to_int(var: Var, raw: str) -> int:
    # plain ASCII digits only: int() would also take "1_0", "+30" and other scripts' digits
    if not _INTEGER.fullmatch(raw):
        raise ConfigError(var.name, raw, _range_text(var))
    value = int(raw)
    if (var.lo is not None and value < var.lo) or (var.hi is not None and value > var.hi):
        raise ConfigError(var.name, raw, _range_text(var))
    return value


def _to_float(var: Var, raw: str) -> float:
    if not _DECIMAL.fullmatch(raw):
        raise ConfigError(var.name, raw, _range_text(var))
    value = float(raw)
    if not math.isfinite(value) or value <= (var.lo or 0.0) or (var.hi is not None and value > var.hi):
        raise ConfigError(var.name, raw, _range_text(var))
    return value


def _to_bool(var: Var, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(var.name, raw, "a boolean: true/false/1/0/yes/no/on/off")


def _to_list(var: Var, raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _fill_paths(values: dict[str, Any], env: Mapping[str, str]) -> None:
    if not values["ARGUS_STATE_DIR"]:
        xdg = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
        values["ARGUS_STATE_DIR"] = str(Path(xdg) / "argus")
    state = Path(values["ARGUS_STATE_DIR"])
    values["ARGUS_LOG_DIR"] = values["ARGUS_LOG_DIR"] or str(state / "logs")
    values["ARGUS_PROBLEMS_FILE"] = values["ARGUS_PROBLEMS_FILE"] or str(state / "problems.jsonl")
    values["ARGUS_RELAY_FALLBACK_FILE"] = values["ARGUS_RELAY_FALLBACK_FILE"] or str(
        state / "relay-fallback.jsonl")
    values["ARGUS_RELAY_SUMMARY_FALLBACK_FILE"] = values["ARGUS_RELAY_SUMMARY_FALLBACK_FILE"] or str(
        state / "relay-summary-fallback.jsonl")
    if not values["ARGUS_PROMPT_FILE"]:
        values["ARGUS_PROMPT_FILE"] = str(Path(__file__).parent / "prompt.md")


# Validation patterns end in \Z, not $: "$" also matches before a trailing newline ("web\n").
_SERVICE_NAME = re.compile(r"\A[A-Za-z0-9._@-]{1,64}\Z")
# systemd unit names; restart_service checks its target against the same pattern
UNIT_NAME = re.compile(r"\A[A-Za-z0-9:._@\\-]{1,128}\Z")
_URL = re.compile(r"\Ahttps?://\S+\Z")


def _parse_service(item: str) -> ServiceCheck:
    name, sep, check = item.partition("=")
    allowed = "name=systemd:UNIT, name=tcp:HOST:PORT or name=http(s)://URL"
    if not sep or not _SERVICE_NAME.match(name.strip()):
        raise ConfigError("ARGUS_SERVICES", item, allowed)
    check = check.strip()
    if check.startswith("systemd:") and UNIT_NAME.match(check[8:]):
        return ServiceCheck(name.strip(), check)
    if check.startswith("tcp:"):
        host, _, port = check[4:].rpartition(":")
        if host and port.isdigit() and 0 < int(port) < 65536:
            return ServiceCheck(name.strip(), check)
    if _URL.match(check):
        return ServiceCheck(name.strip(), check)
    raise ConfigError("ARGUS_SERVICES", item, allowed)


def _parse_freshness(item: str) -> FreshnessCheck:
    name, sep, rest = item.partition("=")
    path, _, age = rest.rpartition(":")
    if not sep or not name.strip() or not path or not age.isdigit() or not 1 <= int(age) <= TEN_YEARS:
        raise ConfigError("ARGUS_FRESHNESS", item, f"name=PATH:MAX_AGE_SECONDS with seconds from 1 to {TEN_YEARS}")
    return FreshnessCheck(name.strip(), path, int(age))


def _check_pairs(values: dict[str, Any]) -> None:
    for warn, crit in (("ARGUS_MEMORY_WARN_PCT", "ARGUS_MEMORY_CRIT_PCT"),
                       ("ARGUS_DISK_WARN_PCT", "ARGUS_DISK_CRIT_PCT")):
        if values[warn] > values[crit]:
            raise ConfigError(warn, str(values[warn]), f"a value <= {crit} ({values[crit]})")
    for name in ("ARGUS_ALLOWED_SERVICES",):
        for unit in values[name]:
            if not UNIT_NAME.match(unit):
                raise ConfigError(name, unit, "systemd unit names ([A-Za-z0-9:._@-])")
    _check_orphan_pattern(values["ARGUS_ORPHAN_PATTERN"])


# Ordinary command lines, none of them a test runner: the sweep kills what the pattern matches, so
# a pattern that matches the empty string (it then matches every command line) or most of these
# (`.`, `[a-z]`, `..`) would select far more than leftover tests. Turning the sweep off is
# ARGUS_ORPHAN_SWEEP=false.
_ORPHAN_PROBES = ("/sbin/init", "-bash", "sshd: root@pts/0", "1", "X", "/usr/lib/systemd/systemd-journald",
                  "python3 -m http.server 8000", "node /srv/app/server.js", "claude", "/usr/sbin/cron -f",
                  "nginx: worker process", "tmux new-session -d", "node server.js --testnet", "codex exec")


def _check_orphan_pattern(pattern: str) -> None:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ConfigError("ARGUS_ORPHAN_PATTERN", pattern, f"a regex ({exc})") from None
    if regex.search("") or 2 * sum(bool(regex.search(probe)) for probe in _ORPHAN_PROBES) > len(_ORPHAN_PROBES):
        raise ConfigError("ARGUS_ORPHAN_PATTERN", pattern,
                          "a regex that matches test runners, not the empty string or most command "
                          "lines (ARGUS_ORPHAN_SWEEP=false turns the sweep off)")


def example_file_text() -> str:
    """The text of ``argus.env.example``: every variable, its default and a one-line comment."""
    lines = ["# Argus configuration. Copy to /etc/argus/argus.env (mode 0600) or ./argus.env.",
             "# Process environment wins over this file; unset lines take the default shown.", ""]
    for var in VARIABLES:
        lines.append(f"# {var.comment}{_range_note(var)}")
        lines.append(f"{var.name}={_env_quoted(var.default)}")
    return "\n".join(lines) + "\n"


def _env_quoted(value: str) -> str:
    """``value`` as the env file must spell it: single-quoted when the shell would read it otherwise."""
    return value if re.fullmatch(r"[A-Za-z0-9_./:,@%+=-]*", value) else "'" + value.replace("'", "'\\''") + "'"


def _range_note(var: Var) -> str:
    if var.choices:
        return " [" + "|".join(var.choices) + "]"
    if var.kind in ("int", "float"):
        return f" [{_range_text(var)}]"
    return ""

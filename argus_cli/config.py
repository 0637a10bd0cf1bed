"""Configuration: process environment, then an env file, then defaults (ARCHITECTURE.md §5).

Every variable is declared once, as a typed attribute of ``Config``; ``VARIABLES``, the loader, the
validation, ``argus doctor`` and ``argus.env.example`` are all derived from that table, so they
cannot drift apart.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Generic, NamedTuple, TypeVar, cast, overload

SECRET_NAMES = frozenset({"ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN"})
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


_URL_CREDENTIALS = re.compile(r"//[^/@\s]*@")


class ConfigError(ValueError):
    """A variable holds a value Argus cannot use. The message names variable, value, where the value
    came from (``origin``: "from the environment", "from FILE:LINE") and what is allowed."""

    def __init__(self, name: str, value: str, allowed: str, origin: str = "") -> None:
        # a URL's user:password (an HTTP check) is a secret even in a variable that is not
        shown = "<hidden>" if name in SECRET_NAMES else repr(_URL_CREDENTIALS.sub("//<hidden>@", value))
        where = f" ({origin})" if origin else ""
        super().__init__(f"{name}={shown}{where} is invalid: expected {allowed}")
        self.name = name
        self.value = value
        self.allowed = allowed

    def came_from(self, origin: str) -> ConfigError:
        """The same refusal, naming where the value came from."""
        return ConfigError(self.name, self.value, self.allowed, origin)


class PairError(ConfigError):
    """Two thresholds that contradict each other (a warning above its critical level). Neither value
    is invalid alone: the message names both, where each came from and which one to change."""

    def __init__(self, warn: str, warn_value: int, crit: str, crit_value: int, origins: Mapping[str, str]) -> None:
        both = (f"{warn}={warn_value} ({origins[warn]}) is above {crit}={crit_value} ({origins[crit]}): "
                "the warning threshold must not exceed the critical one; ")
        if origins[warn] == DEFAULT_ORIGIN:  # only the critical one was set: do not blame the default
            fix = f"set {warn} to {crit_value} or less as well, or raise {crit} to {warn_value} or more"
            self.name = crit
        else:
            fix = f"lower {warn} to {crit_value} or less, or raise {crit} to {warn_value} or more"
            self.name = warn
        ValueError.__init__(self, both + fix)
        self.value, self.allowed = str(warn_value), f"a value <= {crit} ({crit_value})"


ENVIRONMENT_ORIGIN = "from the environment"
DEFAULT_ORIGIN = "the default"


class Var(NamedTuple):  # a NamedTuple: ~70 of them are built at every start, cheaply
    name: str
    default: str  # as the env file spells it
    comment: str
    kind: str = "str"  # str | secret | int | float | bool | list | path | services | freshness
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    duration: bool = False  # an integer of seconds that also accepts 90s, 15m, 1h, 7d


class ServiceCheck(NamedTuple):
    name: str
    check: str  # systemd:UNIT | tcp:HOST:PORT | http(s)://... (the URL without its "#200+204")
    expect: tuple[int, ...] = ()  # an HTTP check's up statuses, ascending; () = any 2xx or 3xx


class FreshnessCheck(NamedTuple):
    name: str
    path: str
    max_age_seconds: int


AUTONOMY_LEVELS = ("observe", "ask", "act")  # record what would run | ask the operator first | run it
GOVERNED_ACTIONS = ("restart_service", "kill_pid", "kill_tmux", "clean_disk")  # alert and log always act


class Autonomy(NamedTuple):
    """ARGUS_AUTONOMY: a level for every host-changing action type."""

    default: str = "act"
    levels: tuple[tuple[str, str], ...] = ()  # (action type, level) the operator named

    def level(self, action_type: str) -> str:
        if action_type not in GOVERNED_ACTIONS:
            return "act"
        return dict(self.levels).get(action_type, self.default)

    def observes_all(self) -> bool:
        return all(self.level(kind) == "observe" for kind in GOVERNED_ACTIONS)

    def __str__(self) -> str:
        named = [f"{kind}={level}" for kind, level in self.levels if level != self.default]
        return ",".join([self.default, *named])


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class MaintenanceWindow(NamedTuple):
    """One recurring window of ARGUS_MAINTENANCE: on ``days`` (0 = Monday) from ``start`` for
    ``minutes``, in time zone ``zone``; ``text`` is how the operator wrote it."""

    text: str
    days: tuple[int, ...]
    start: int  # minutes after midnight
    minutes: int
    zone: str


T = TypeVar("T")


class Setting(Generic[T]):
    """One variable: its declaration (``var``) on the class, its validated value on a Config."""

    __slots__ = ("var",)

    def __init__(self, var: Var) -> None:
        self.var = var

    @overload
    def __get__(self, config: None, owner: type[Config]) -> Setting[T]: ...

    @overload
    def __get__(self, config: Config, owner: type[Config]) -> T: ...

    def __get__(self, config: Config | None, owner: type[Config]) -> Setting[T] | T:
        return self if config is None else cast(T, config.values[self.var.name])


def text(name: str, default: str, comment: str) -> Setting[str]:
    return Setting(Var(name, default, comment))


def choice(name: str, default: str, comment: str, choices: tuple[str, ...]) -> Setting[str]:
    return Setting(Var(name, default, comment, choices=choices))


def secret(name: str, comment: str) -> Setting[str]:
    return Setting(Var(name, "", comment, "secret"))


def integer(name: str, default: int, comment: str, lo: int, hi: int) -> Setting[int]:
    return Setting(Var(name, str(default), comment, "int", lo, hi))


def seconds(name: str, default: int, comment: str, lo: int, hi: int) -> Setting[int]:
    """A number of seconds: a plain integer, or a count and one unit (``90s``, ``15m``, ``1h``,
    ``7d``); the range applies to the seconds it comes to."""
    return Setting(Var(name, str(default), comment, "int", lo, hi, duration=True))


def percent(name: str, default: int, comment: str) -> Setting[int]:
    return integer(name, default, comment, 1, 100)


def number(name: str, default: float, comment: str, lo: float, hi: float) -> Setting[float]:
    return Setting(Var(name, str(default), comment, "float", lo, hi))


def flag(name: str, default: bool, comment: str) -> Setting[bool]:
    return Setting(Var(name, "true" if default else "false", comment, "bool"))


def names(name: str, default: str, comment: str) -> Setting[tuple[str, ...]]:
    return Setting(Var(name, default, comment, "list"))


def path(name: str, comment: str) -> Setting[Path]:
    """A file or directory; unset, it is derived from the state directory (see _fill_paths)."""
    return Setting(Var(name, "", comment, "path"))


def service_checks(name: str, comment: str) -> Setting[tuple[ServiceCheck, ...]]:
    return Setting(Var(name, "", comment, "services"))


def freshness_checks(name: str, comment: str) -> Setting[tuple[FreshnessCheck, ...]]:
    return Setting(Var(name, "", comment, "freshness"))


def autonomy_levels(name: str, default: str, comment: str) -> Setting[Autonomy]:
    return Setting(Var(name, default, comment, "autonomy"))


def windows(name: str, comment: str) -> Setting[tuple[MaintenanceWindow, ...]]:
    return Setting(Var(name, "", comment, "maintenance"))


def textfile(name: str, comment: str) -> Setting[Path | None]:
    """A node_exporter textfile: an absolute path ending in ``.prom``; None when unset (off)."""
    return Setting(Var(name, "", comment, "textfile"))


# Upper bounds are what the code can handle, not just what is sensible: a window is subtracted
# from "now" and printed as a date (year 1 .. 9999), so 10 years is the longest any may be.
DAY = 86_400
WEEK = 7 * DAY
TEN_YEARS = 3650 * DAY  # 315360000


class Config:
    """Validated, read-only settings, one typed attribute per variable. The class body is the one
    table of variables: the loader, ``argus doctor``, ``argus.env.example`` and the README's table
    are derived from it. The repr leaves the values out, so a traceback or a log line can never
    show a secret. (Not a dataclass: its fields are descriptors that read the validated values.)"""

    __slots__ = ("env_file", "values")

    def __init__(self, values: Mapping[str, object], env_file: Path | None = None) -> None:
        self.values: Mapping[str, object] = MappingProxyType(dict(values))
        self.env_file = env_file

    def __repr__(self) -> str:
        return f"Config(env_file={self.env_file!r})"

    state_dir = path("ARGUS_STATE_DIR", "State directory (default $XDG_STATE_HOME/argus or ~/.local/state/argus)")
    log_dir = path("ARGUS_LOG_DIR", "Log directory for argus.log (default <state>/logs)")
    problems_file = path("ARGUS_PROBLEMS_FILE", "Problem registry (default <state>/problems.jsonl)")
    decider = choice("ARGUS_DECIDER", "auto",
        "auto = llm when ANTHROPIC_API_KEY is set, else rules", ("auto", "llm", "rules"))
    anthropic_api_key = secret("ANTHROPIC_API_KEY", "Anthropic API key; unset = rules engine decides")
    anthropic_base_url = text("ANTHROPIC_BASE_URL", "", "Anthropic API base URL, as the SDK reads it")
    model = text("ARGUS_MODEL", "claude-haiku-4-5", "Model id for the LLM decider")
    llm_timeout = seconds("ARGUS_LLM_TIMEOUT", 60, "Seconds per LLM call", 5, 300)
    llm_every_cycle = flag("ARGUS_LLM_EVERY_CYCLE", False, "true = ask the LLM every cycle, as the original did")
    llm_heartbeat_seconds = seconds("ARGUS_LLM_HEARTBEAT_SECONDS", 21600,
        "Ask the LLM at least this often even when all is nominal", 1, TEN_YEARS)
    llm_backoff_base_seconds = seconds("ARGUS_LLM_BACKOFF_BASE_SECONDS", 300,
        "First cooldown after an LLM failure (doubles)", 1, DAY)
    llm_backoff_max_seconds = seconds("ARGUS_LLM_BACKOFF_MAX_SECONDS", 7200,
        "Longest cooldown after LLM failures", 1, WEEK)
    llm_rate_limit_min_seconds = seconds("ARGUS_LLM_RATE_LIMIT_MIN_SECONDS", 1800,
        "Minimum cooldown after an HTTP 429", 1, DAY)
    prompt_file = path("ARGUS_PROMPT_FILE", "System prompt file (default: the packaged prompt.md)")
    history_cycles = integer("ARGUS_HISTORY_CYCLES", 6, "Past cycles summarised into the LLM's input", 0, 50)
    services = service_checks("ARGUS_SERVICES",
        "Health checks: name=systemd:UNIT | name=tcp:HOST:PORT | name=http(s)://URL[#200+204] "
        "(HTTP is up on 2xx/3xx, or only on the statuses named after #)")
    autonomy = autonomy_levels("ARGUS_AUTONOMY", "act",
        "Per action type: observe (record what would run), ask (Telegram or `argus approve` first) or act; "
        "a bare level is the default for the rest, e.g. ask,clean_disk=act. alert and log always act")
    approval_ttl = seconds("ARGUS_APPROVAL_TTL", 1800,
        "Seconds an action waiting for approval stays valid (at least two five-minute cycles)", 600, DAY)
    approvers = names("ARGUS_APPROVERS", "",
        "Telegram user ids whose button presses count; unset = only the user of a private TELEGRAM_CHAT_ID")
    maintenance = windows("ARGUS_MAINTENANCE",
        "Recurring maintenance windows, e.g. 'Sun 02:00-04:00 UTC; Mon-Fri 12:00-12:30 Europe/Paris': "
        "actions only observed, notifications held")
    allowed_services = names("ARGUS_ALLOWED_SERVICES", "", "systemd units restart_service may restart")
    kill_allowlist = names("ARGUS_KILL_ALLOWLIST", "node,claude,codex", "Process names kill_pid may kill")
    tmux_sockets = names("ARGUS_TMUX_SOCKETS", "default", "tmux servers to inspect: default or socket paths")
    orphan_sweep = flag("ARGUS_ORPHAN_SWEEP", True,
        "false = never kill orphaned test processes (they are still reported)")
    orphan_pattern = text("ARGUS_ORPHAN_PATTERN", "node.* --test( |$)",
        "Regex for orphaned test processes; one that matches the empty string or everything is refused")
    orphan_kill_threshold = integer("ARGUS_ORPHAN_KILL_THRESHOLD", 3,
        "Consecutive cycles an orphan is seen before it is killed", 1, 1000)
    orphan_max_kills = integer("ARGUS_ORPHAN_MAX_KILLS", 10,
        "Most orphans the sweep kills in one cycle (the rest are reported)", 1, 1000)
    disk_paths = names("ARGUS_DISK_PATHS", "/", "Mount points to watch")
    memory_warn_pct = percent("ARGUS_MEMORY_WARN_PCT", 80, "Memory warning threshold (percent)")
    memory_crit_pct = percent("ARGUS_MEMORY_CRIT_PCT", 90, "Memory critical threshold (percent)")
    disk_warn_pct = percent("ARGUS_DISK_WARN_PCT", 80, "Disk warning threshold (percent)")
    disk_crit_pct = percent("ARGUS_DISK_CRIT_PCT", 90, "Disk critical threshold (percent)")
    swap_warn_pct = percent("ARGUS_SWAP_WARN_PCT", 50, "Swap warning threshold (percent)")
    load_factor = number("ARGUS_LOAD_FACTOR", 2.0, "Load per core that counts as high", 0, 1000)
    min_free_mb = integer("ARGUS_MIN_FREE_MB", 100,
        "Disk guard: below this many MB free, skip the LLM and alert", 1, 1_048_576)
    freshness = freshness_checks("ARGUS_FRESHNESS",
        "name=PATH:MAX_AGE_SECONDS (1 to 315360000, or 90s/15m/1h/7d): "
        "warn when nothing under PATH changed for that long")
    collect_timeout = seconds("ARGUS_COLLECT_TIMEOUT", 5,
        "Seconds each collector may take before it is reported as hung", 1, 300)
    unknown_cycles = integer("ARGUS_UNKNOWN_CYCLES", 3,
        "Cycles in a row a service check may answer unknown before it is reported (a blind spot)", 1, 100)
    decider_degraded_seconds = seconds("ARGUS_DECIDER_DEGRADED_SECONDS", 3600,
        "Seconds of LLM failures before the decider is reported degraded (the rules decide meanwhile)", 60, 7 * DAY)
    resolve_cycles = integer("ARGUS_RESOLVE_CYCLES", 2,
        "An incident resolves after its condition is absent for this many cycles in a row", 1, 100)
    repeat_interval = seconds("ARGUS_REPEAT_INTERVAL", 14400,
        "Seconds between reminders while an alerted incident stays open", 60, 7 * DAY)
    flap_transitions = integer("ARGUS_FLAP_TRANSITIONS", 6,
        "Changes of one condition within an hour that make it flapping (notified once, then held)", 4, 100)
    dedup_window = seconds("ARGUS_DEDUP_WINDOW", 3600,
        "Seconds during which a repeated alert without a subject is suppressed", 1, TEN_YEARS)
    dedup_retention_seconds = seconds("ARGUS_DEDUP_RETENTION_SECONDS", 86400,
        "Seconds before a dedup key is forgotten", 1, TEN_YEARS)
    disk_clean_max_age_days = integer("ARGUS_DISK_CLEAN_MAX_AGE_DAYS", 7,
        "clean_disk removes entries older than this", 1, 365)
    disk_clean_dry_run = flag("ARGUS_DISK_CLEAN_DRY_RUN", False,
        "true = clean_disk only reports what it would remove")
    host_root = text("ARGUS_HOST_ROOT", "/",
        "Where the host filesystem is mounted (clean_disk roots resolve under it)")
    restart_backoff_second_delay = seconds("ARGUS_RESTART_BACKOFF_SECOND_DELAY", 60,
        "Seconds before a second restart attempt", 1, DAY)
    restart_backoff_third_delay = seconds("ARGUS_RESTART_BACKOFF_THIRD_DELAY", 300,
        "Seconds before a third restart attempt", 1, DAY)
    restart_cooldown_seconds = seconds("ARGUS_RESTART_COOLDOWN_SECONDS", 3600,
        "Cooldown after a restart loop is detected", 1, TEN_YEARS)
    boot_grace_seconds = seconds("ARGUS_BOOT_GRACE_SECONDS", 120,
        "After boot, service-down findings are logged, not escalated", 0, DAY)
    systemctl_bin = text("ARGUS_SYSTEMCTL_BIN", "systemctl",
        "systemctl for service checks and restart_service (name or path)")
    tmux_bin = text("ARGUS_TMUX_BIN", "tmux", "tmux for the tmux collector and kill_tmux (name or path)")
    bd_bin = text("ARGUS_BD_BIN", "bd", "beads CLI")
    beads_workdir = text("ARGUS_BEADS_WORKDIR", ".", "Directory bd runs in")
    bd_timeout = seconds("ARGUS_BD_TIMEOUT", 10, "Seconds per bd call", 1, 300)
    bead_priority = integer("ARGUS_BEAD_PRIORITY", 2, "Priority of created beads", 0, 4)
    bead_repeat_threshold = integer("ARGUS_BEAD_REPEAT_THRESHOLD", 3,
        "Recurrences within the window that create a bead", 1, 1000)
    bead_repeat_window_seconds = seconds("ARGUS_BEAD_REPEAT_WINDOW_SECONDS", 86400,
        "Window for counting recurrences", 1, TEN_YEARS)
    relay_enabled = flag("ARGUS_RELAY_ENABLED", True, "Publish problems to Relay")
    relay_bin = text("ARGUS_RELAY_BIN", "relay", "Relay CLI")
    relay_to = text("ARGUS_RELAY_TO", "athena", "Relay recipient")
    relay_from = text("ARGUS_RELAY_FROM", "argus", "Relay sender")
    relay_timeout = seconds("ARGUS_RELAY_TIMEOUT", 5, "Seconds per relay call", 1, 300)
    relay_fallback_file = path("ARGUS_RELAY_FALLBACK_FILE",
        "Where problems go when Relay fails (default <state>/relay-fallback.jsonl)")
    relay_summary_enabled = flag("ARGUS_RELAY_SUMMARY_ENABLED", True, "Send the daily summary to Relay")
    relay_summary_fallback_file = path("ARGUS_RELAY_SUMMARY_FALLBACK_FILE",
        "Where summaries go when Relay fails (default <state>/relay-summary-fallback.jsonl)")
    dashboard_url = text("ARGUS_DASHBOARD_URL", "", "Link included in the daily summary")
    telegram_bot_token = secret("TELEGRAM_BOT_TOKEN", "Telegram bot token; unset = alerts are recorded, not sent")
    telegram_chat_id = text("TELEGRAM_CHAT_ID", "", "Telegram chat id")
    telegram_api_base = text("ARGUS_TELEGRAM_API_BASE", "https://api.telegram.org", "Telegram Bot API base URL")
    telegram_max_per_cycle = integer("ARGUS_TELEGRAM_MAX_PER_CYCLE", 20,
        "Most Telegram messages one cycle sends (the rest stay queued)", 1, 1000)
    telegram_budget_seconds = seconds("ARGUS_TELEGRAM_BUDGET_SECONDS", 30,
        "Time one cycle may spend delivering Telegram messages", 1, 600)
    stats_window_days = integer("ARGUS_STATS_WINDOW_DAYS", 7, "Window of argus stats", 1, 3650)
    pattern_window_days = integer("ARGUS_PATTERN_WINDOW_DAYS", 7, "Window of argus patterns", 1, 3650)
    prometheus_textfile = textfile("ARGUS_PROMETHEUS_TEXTFILE",
        "Prometheus textfile each cycle writes for node_exporter (DIR/argus.prom); unset = none")
    records_max_mb = integer("ARGUS_RECORDS_MAX_MB", 50,
        "Size in MB past which problems, cycles, metrics and llm records rotate (NAME.1, NAME.2 ...)", 1, 100_000)
    records_keep = integer("ARGUS_RECORDS_KEEP", 4,
        "Rotated copies kept of each record (at least 1: rotation never deletes the live one); "
        "reports read them with the live file", 1, 100)
    cycle_timeout = seconds("ARGUS_CYCLE_TIMEOUT", 240, "Hard limit for one cycle, seconds", 1, 3600)

    @property
    def has_api_key(self) -> bool:
        return bool(self.anthropic_api_key)

    @property
    def telegram_configured(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_chat_id)

    def secrets(self) -> tuple[str, ...]:
        """Secret values in force, for redaction of anything that leaves the process."""
        return tuple(v for n in SECRET_NAMES if isinstance(v := self.values.get(n), str) and v)


VARIABLES: tuple[Var, ...] = tuple(s.var for s in vars(Config).values() if isinstance(s, Setting))
VARS_BY_NAME = {v.name: v for v in VARIABLES}


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
    return {name: value for name, (value, _) in parse_env_lines(text, source).items()}


def parse_env_lines(text: str, source: str = "env file") -> dict[str, tuple[str, int]]:
    """``parse_env_file`` with the number of the line each value came from (the last one set wins)."""
    out: dict[str, tuple[str, int]] = {}
    for lineno, raw in enumerate(text.removeprefix("\ufeff").split("\n"), 1):  # an editor's BOM
        line = raw.removesuffix("\r").lstrip(_BLANKS)
        if not line or line.startswith("#"):
            continue
        try:
            name, value = _parse_assignment(line)
        except _Refused as why:
            raise EnvFileError(source, lineno, str(why)) from None
        out.pop(name, None)  # a name set again is where its last line is
        out[name] = (value, lineno)
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


def load(env: Mapping[str, str] | None = None, env_file: Path | None = None, *,
         read_env_file: bool = True) -> Config:
    """Build the Config from ``env`` (default: os.environ) layered over the env file (none with
    ``read_env_file`` off: ``argus eval`` judges each case on its own settings only)."""
    env = os.environ if env is None else env
    env_file = (env_file or find_env_file(env)) if read_env_file else None
    file_lines = _read_env_file(env_file) if env_file is not None else {}
    values: dict[str, object] = {}
    origins: dict[str, str] = {}
    for var in VARIABLES:
        raw, origins[var.name] = _raw_value(var, env, file_lines, env_file)
        try:
            values[var.name] = _convert(var, raw.strip())
        except ConfigError as exc:
            raise exc.came_from(origins[var.name]) from None
    _fill_paths(values, env)
    config = Config(values=values, env_file=env_file)
    _check_pairs(config, origins)
    return config


def _raw_value(var: Var, env: Mapping[str, str], file_lines: Mapping[str, tuple[str, int]],
               env_file: Path | None) -> tuple[str, str]:
    """The text ``var`` is set to and where it came from: the environment, the env file's line, the default."""
    if var.name in env:
        return env[var.name], ENVIRONMENT_ORIGIN
    if var.name in file_lines:
        value, lineno = file_lines[var.name]
        return value, f"from {env_file}:{lineno}"
    return var.default, DEFAULT_ORIGIN


# --- names that look like settings but are none (argus doctor warns of them) --------------------

OWN_PREFIXES = ("ARGUS_", "TELEGRAM_", "ANTHROPIC_")
# Read from the process environment besides VARIABLES: where the env file is, the installer's
# switch (scripts/install.sh), and what the Anthropic client Argus builds reads itself when
# Argus leaves an option unset (tests/test_config_hygiene.py checks these against the SDK).
ENVIRONMENT_ONLY = frozenset({
    "ARGUS_ENV_FILE", "ARGUS_INSTALL_SYSTEMD",
    "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS", "ANTHROPIC_LOG", "ANTHROPIC_WEBHOOK_SIGNING_KEY",
    "ANTHROPIC_OPEN_TELEMETRY", "ANTHROPIC_OPEN_TELEMETRY_PROPAGATION",
    "ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE", "ANTHROPIC_OPEN_TELEMETRY_TRACES_MAX_CONTENT_BYTES",
    "ANTHROPIC_PROFILE", "ANTHROPIC_CONFIG_DIR", "ANTHROPIC_IDENTITY_TOKEN", "ANTHROPIC_IDENTITY_TOKEN_FILE",
    "ANTHROPIC_FEDERATION_RULE_ID", "ANTHROPIC_ORGANIZATION_ID", "ANTHROPIC_SERVICE_ACCOUNT_ID",
    "ANTHROPIC_WORKSPACE_ID", "ANTHROPIC_SCOPE",
})


def unknown_names(env: Mapping[str, str], env_file: Path | None) -> list[str]:
    """One line per ``ARGUS_*``, ``TELEGRAM_*`` or ``ANTHROPIC_*`` name that nothing reads, in the
    env file (with its line) or the process environment, with the closest setting's name. Names
    only, never a value: the value of a misspelt secret is still a secret."""
    found: list[str] = []
    file_lines = _read_env_file(env_file) if env_file is not None else {}
    for name, (_, lineno) in file_lines.items():
        if not name.startswith(OWN_PREFIXES) or name in VARS_BY_NAME:
            continue
        where = f"{name} ({env_file}:{lineno})"
        if name in ENVIRONMENT_ONLY:
            found.append(f"{where} is read only from the process environment, not from the env file")
        else:
            found.append(f"{where} is not a setting Argus reads{_did_you_mean(name, VARS_BY_NAME)}")
    known = VARS_BY_NAME.keys() | ENVIRONMENT_ONLY
    for name in sorted(env):
        if name.startswith(OWN_PREFIXES) and name not in known:
            found.append(f"{name} (environment) is not a setting Argus reads{_did_you_mean(name, known)}")
    return found


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f": did you mean {close[0]}?" if close else ""


ENV_FILE_MAX_BYTES = 1024 * 1024  # a real env file is a few KiB; /dev/zero is not one


def _read_env_file(path: Path) -> dict[str, tuple[str, int]]:
    data = _read_regular_file(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvFileError(str(path), data.count(b"\n", 0, exc.start) + 1, "not UTF-8 text") from None
    return parse_env_lines(text, str(path))


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


def _convert(var: Var, raw: str) -> object:
    converters: dict[str, Callable[[Var, str], object]] = {
        "int": _to_int, "float": _to_float, "bool": _to_bool, "list": _to_list,
        "services": _to_services, "freshness": _to_freshness, "autonomy": _to_autonomy,
        "maintenance": _to_maintenance, "textfile": _to_textfile,
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
    if var.duration:
        return f"an integer from {var.lo:.0f} to {var.hi:.0f} ({DURATION_TEXT})"
    return f"an integer from {var.lo:.0f} to {var.hi:.0f}"  # every number has both bounds (a test checks)


DURATION_TEXT = "seconds, or 90s/15m/1h/7d"
_DURATION = re.compile(r"([0-9]+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": DAY}
_INTEGER = re.compile(r"-?[0-9]+")


def parse_duration(raw: str) -> int | None:
    """Seconds: a plain integer (``3600``) or a count and one unit (``90s``, ``15m``, ``1h``, ``7d``);
    None for anything else (``1h30m``, ``1.5h``, ``15M``: M could be months)."""
    if _INTEGER.fullmatch(raw):
        return int(raw)
    match = _DURATION.fullmatch(raw)
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def _to_int(var: Var, raw: str) -> int:
    # plain ASCII digits only: int() would also take "1_0", "+30" and other scripts' digits
    value = parse_duration(raw) if var.duration else int(raw) if _INTEGER.fullmatch(raw) else None
    if value is None:
        raise ConfigError(var.name, raw, _range_text(var))
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


def _to_textfile(var: Var, raw: str) -> Path | None:
    # node_exporter reads DIR/*.prom; a relative path would depend on where the cycle started
    if not raw:
        return None
    if not raw.startswith("/") or not raw.endswith(".prom") or raw.endswith("/.prom"):
        raise ConfigError(var.name, raw, "an absolute path ending in .prom (node_exporter reads DIR/*.prom), "
                          "or nothing for no textfile")
    return Path(raw)


def _to_list(var: Var, raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _to_services(var: Var, raw: str) -> tuple[ServiceCheck, ...]:
    return tuple(_parse_service(item) for item in _to_list(var, raw))


def _to_freshness(var: Var, raw: str) -> tuple[FreshnessCheck, ...]:
    return tuple(_parse_freshness(item) for item in _to_list(var, raw))


def _to_autonomy(var: Var, raw: str) -> Autonomy:
    """``act``, ``observe``, ``ask,clean_disk=act``, ``restart_service=act,kill_pid=ask``: at most one
    bare level (the default for the types not named), each type named once."""
    allowed = (f"a level ({'|'.join(AUTONOMY_LEVELS)}) and/or TYPE=LEVEL pairs, comma-separated, "
               f"TYPE one of {', '.join(GOVERNED_ACTIONS)} (alert and log always act)")
    default: str | None = None
    levels: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        kind, sep, level = (s.strip() for s in item.partition("="))
        if not sep:
            kind, level = "", kind
        if level not in AUTONOMY_LEVELS or (sep and kind not in GOVERNED_ACTIONS) or (
                not sep and default is not None) or kind in levels:
            raise ConfigError(var.name, raw, allowed)
        if sep:
            levels[kind] = level
        else:
            default = level
    return Autonomy(default or "act", tuple(levels.items()))


_WINDOW = re.compile(r"(?P<days>[A-Za-z]{3}(?:-[A-Za-z]{3})?|daily)\s+(?P<start>[0-9]{2}:[0-9]{2})-"
                     r"(?P<end>[0-9]{2}:[0-9]{2})(?:\s+(?P<zone>\S+))?")


def _to_maintenance(var: Var, raw: str) -> tuple[MaintenanceWindow, ...]:
    """Windows separated by ``;``: ``Sun 02:00-04:00 UTC``, ``Mon-Fri 12:00-12:30 Europe/Paris``,
    ``daily 03:00-03:15``; without a zone, UTC. A window may run past midnight (``Sat 23:00-01:00``)."""
    return tuple(_parse_window(var, item.strip()) for item in raw.split(";") if item.strip())


def _parse_window(var: Var, item: str) -> MaintenanceWindow:
    allowed = ("windows separated by ';', each DAY[-DAY] HH:MM-HH:MM [ZONE] (Mon..Sun or daily, "
               "24-hour times, an IANA zone such as Europe/Paris; UTC when left out)")
    match = _WINDOW.fullmatch(item)
    if match is None:
        raise ConfigError(var.name, item, allowed)
    days, zone = match["days"].lower(), match["zone"] or "UTC"
    try:
        start, end = _minutes(match["start"]), _minutes(match["end"])
        if days == "daily":
            on = tuple(range(7))
        else:
            first, _, last = days.partition("-")
            a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
            on = tuple((a + i) % 7 for i in range((b - a) % 7 + 1))
    except ValueError:
        raise ConfigError(var.name, item, allowed) from None
    if start == end:
        raise ConfigError(var.name, item, "a window with an end different from its start")
    if zone != "UTC":
        _check_zone(var, item, zone)
    return MaintenanceWindow(item, on, start, (end - start) % (24 * 60), zone)


def _minutes(hhmm: str) -> int:
    hours, minutes = int(hhmm[:2]), int(hhmm[3:])
    if hours > 23 or minutes > 59:
        raise ValueError(hhmm)
    return hours * 60 + minutes


def _check_zone(var: Var, item: str, zone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only when a window names a zone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(var.name, item, f"a known time zone (not {zone!r}; e.g. UTC, Europe/Paris)") from None


def _fill_paths(values: dict[str, object], env: Mapping[str, str]) -> None:
    """Every path variable as a Path; an unset one is derived from the state directory."""
    if not values["ARGUS_STATE_DIR"]:
        xdg = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
        values["ARGUS_STATE_DIR"] = str(Path(xdg) / "argus")
    state = Path(str(values["ARGUS_STATE_DIR"]))
    defaults = {"ARGUS_STATE_DIR": state, "ARGUS_LOG_DIR": state / "logs",
                "ARGUS_PROBLEMS_FILE": state / "problems.jsonl",
                "ARGUS_RELAY_FALLBACK_FILE": state / "relay-fallback.jsonl",
                "ARGUS_RELAY_SUMMARY_FALLBACK_FILE": state / "relay-summary-fallback.jsonl",
                "ARGUS_PROMPT_FILE": Path(__file__).parent / "prompt.md"}
    for name, default in defaults.items():
        values[name] = Path(str(values[name])) if values[name] else default


# Validation patterns end in \Z, not $: "$" also matches before a trailing newline ("web\n").
_SERVICE_NAME = re.compile(r"\A[A-Za-z0-9._@-]{1,64}\Z")
# systemd unit names; restart_service checks its target against the same pattern
UNIT_NAME = re.compile(r"\A[A-Za-z0-9:._@\\-]{1,128}\Z")
_URL = re.compile(r"\Ahttps?://\S+\Z")
_STATUSES = re.compile(r"\A[0-9]{3}(\+[0-9]{3})*\Z")  # an HTTP check's "200+204"


def _parse_service(item: str) -> ServiceCheck:
    name, sep, check = item.partition("=")
    allowed = "name=systemd:UNIT, name=tcp:HOST:PORT or name=http(s)://URL[#STATUS+STATUS]"
    if not sep and _STATUSES.match(item):  # "web=URL#200,204": the comma started a new check
        raise ConfigError("ARGUS_SERVICES", item, f"{allowed}; join expected HTTP statuses with '+' "
                          "(web=https://host/health#200+204), a comma separates checks")
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
        # A client never sends a URL's fragment, so "#" can only mean the expected statuses.
        url, fragment, statuses = check.partition("#")
        if not fragment:
            return ServiceCheck(name.strip(), check)
        if _STATUSES.match(statuses) and _URL.match(url):
            codes = sorted({int(code) for code in statuses.split("+")})
            if all(100 <= code <= 599 for code in codes):
                return ServiceCheck(name.strip(), url, tuple(codes))
        raise ConfigError("ARGUS_SERVICES", item, "after '#' only the HTTP statuses that mean up, each 100-599, "
                          "joined by '+' (web=https://host/health#200+204); a URL fragment is never sent, "
                          "so leave it out")
    raise ConfigError("ARGUS_SERVICES", item, allowed)


def _parse_freshness(item: str) -> FreshnessCheck:
    name, sep, rest = item.partition("=")
    path, _, age = rest.rpartition(":")
    seconds = parse_duration(age) if age[:1].isdigit() else None
    if not sep or not name.strip() or not path or seconds is None or not 1 <= seconds <= TEN_YEARS:
        raise ConfigError("ARGUS_FRESHNESS", item,
                          f"name=PATH:MAX_AGE_SECONDS with seconds from 1 to {TEN_YEARS} (or 90s/15m/1h/7d)")
    return FreshnessCheck(name.strip(), path, seconds)


def _check_pairs(config: Config, origins: Mapping[str, str]) -> None:
    pairs = (("ARGUS_MEMORY_WARN_PCT", config.memory_warn_pct, "ARGUS_MEMORY_CRIT_PCT", config.memory_crit_pct),
             ("ARGUS_DISK_WARN_PCT", config.disk_warn_pct, "ARGUS_DISK_CRIT_PCT", config.disk_crit_pct))
    for warn, warn_pct, crit, crit_pct in pairs:
        if warn_pct > crit_pct:
            raise PairError(warn, warn_pct, crit, crit_pct, origins)
    for unit in config.allowed_services:
        if not UNIT_NAME.match(unit):
            raise ConfigError("ARGUS_ALLOWED_SERVICES", unit, "systemd unit names ([A-Za-z0-9:._@-])",
                              origins["ARGUS_ALLOWED_SERVICES"])
    try:
        _check_orphan_pattern(config.orphan_pattern)
    except ConfigError as exc:
        raise exc.came_from(origins["ARGUS_ORPHAN_PATTERN"]) from None


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

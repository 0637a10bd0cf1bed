"""Typos and slips in the configuration are never silent (issue "Never blind, never silent", item 8):
unknown names are doctor warnings with a "did you mean", a line that is no assignment names file and
line, errors say where a value came from, an inconsistent warn/crit pair blames no default, and
durations in seconds take units."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from argus_cli.config import (
    ENVIRONMENT_ONLY,
    VARIABLES,
    ConfigError,
    EnvFileError,
    PairError,
    load,
    parse_duration,
    unknown_names,
)
from argus_cli.doctor import check_unknown_names

TYPOS = ("ARGUS_DEDUP_WINDOWS=7200\nARGUS_SERVICE=web=tcp:127.0.0.1:80\nTELEGRAM_CHATID=123\n")


def write_env(tmp_path: Path, text: str) -> Path:
    env_file = tmp_path / "argus.env"
    env_file.write_text(text)
    return env_file


# --- unknown names --------------------------------------------------------------------------------

def test_typos_in_the_env_file_are_named_with_their_line_and_the_closest_setting(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "# Argus\n" + TYPOS)
    assert unknown_names({}, env_file) == [
        f"ARGUS_DEDUP_WINDOWS ({env_file}:2) is not a setting Argus reads: did you mean ARGUS_DEDUP_WINDOW?",
        f"ARGUS_SERVICE ({env_file}:3) is not a setting Argus reads: did you mean ARGUS_SERVICES?",
        f"TELEGRAM_CHATID ({env_file}:4) is not a setting Argus reads: did you mean TELEGRAM_CHAT_ID?",
    ]


def test_typos_in_the_environment_are_named_and_other_names_left_alone() -> None:
    env = {"ARGUS_SERVICE": "web=tcp:h:1", "ANTHROPIC_API_KEYS": "sk-ant-secret", "PATH": "/bin",
           "ARGUS_ENV_FILE": "/etc/argus/argus.env", "ANTHROPIC_LOG": "debug", "TELEGRAM_CHAT_ID": "1",
           "ANTHROPIC_BASE_URL": "http://x", "ANTHROPIC_API_KEY": "k", "TELEGRAM_BOT_TOKEN": "t",
           "ARGUS_INSTALL_SYSTEMD": "no", "ARGUSX": "1", "ARGUS_ZZZZ_QQQQ": "1"}
    assert unknown_names(env, None) == [
        "ANTHROPIC_API_KEYS (environment) is not a setting Argus reads: did you mean ANTHROPIC_API_KEY?",
        "ARGUS_SERVICE (environment) is not a setting Argus reads: did you mean ARGUS_SERVICES?",
        "ARGUS_ZZZZ_QQQQ (environment) is not a setting Argus reads",
    ]


def test_every_variable_and_every_environment_only_name_is_known(tmp_path: Path) -> None:
    env = {var.name: var.default for var in VARIABLES} | dict.fromkeys(ENVIRONMENT_ONLY, "x")
    assert unknown_names(env, None) == []
    env_file = write_env(tmp_path, "".join(f"{var.name}=\n" for var in VARIABLES))
    assert unknown_names({}, env_file) == []


def test_an_environment_only_name_in_the_env_file_is_said_to_be_ignored_there(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "ARGUS_ENV_FILE=/elsewhere\nANTHROPIC_AUTH_TOKEN=tok\n")
    assert unknown_names({}, env_file) == [
        f"ARGUS_ENV_FILE ({env_file}:1) is read only from the process environment, not from the env file",
        f"ANTHROPIC_AUTH_TOKEN ({env_file}:2) is read only from the process environment, not from the env file",
    ]


def test_the_anthropic_names_argus_leaves_to_the_sdk_are_the_ones_its_client_reads() -> None:
    """ENVIRONMENT_ONLY lists what anthropic.Anthropic reads from os.environ; an SDK that reads a new
    name fails here rather than have argus doctor warn of a setting that works."""
    import anthropic

    root = Path(anthropic.__file__).parent
    read: set[str] = set()
    for source in [root / "_client.py", root / "_tracing.py", root / "_utils" / "_logs.py",
                   root / "lib" / "credentials" / "_constants.py"]:
        if source.is_file():
            text = source.read_text(encoding="utf-8")
            read |= set(re.findall(r"os\.environ\.get\(\"(ANTHROPIC_[A-Z_]+)\"", text))
            read |= set(re.findall(r"^ENV_[A-Z_]+ = \"(ANTHROPIC_[A-Z_]+)\"", text, re.M))
    assert read, "the SDK's layout changed: find where anthropic.Anthropic reads its environment"
    known = ENVIRONMENT_ONLY | {var.name for var in VARIABLES}
    assert read <= known, sorted(read - known)


def test_doctor_warns_of_each_unknown_name_and_never_prints_a_value(argus_env: dict[str, str],
                                                                    tmp_path: Path) -> None:
    env_file = write_env(tmp_path, TYPOS + "TELEGRAM_BOT_TOKENN='123:secret-token'\n")
    config = load({**argus_env, "ARGUS_ENV_FILE": str(env_file)})
    checks = check_unknown_names(config, {"ANTHROPIC_API_KEYS": "sk-ant-hidden"})
    assert [c.level for c in checks] == ["warn"] * 5 and {c.name for c in checks} == {"config"}
    details = "\n".join(c.detail for c in checks)
    assert "did you mean TELEGRAM_BOT_TOKEN?" in details and "did you mean ANTHROPIC_API_KEY?" in details
    assert "secret-token" not in details and "sk-ant-hidden" not in details and "7200" not in details


def test_argus_doctor_warns_of_the_typos_of_the_issue(run_argus, argus_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    env_file = write_env(tmp_path, TYPOS)
    doctor = run_argus("doctor", env={**argus_env, "ARGUS_ENV_FILE": str(env_file), "ARGUS_DECIDER_X": "1"})
    assert "ok    config      valid" in doctor.stdout
    for line in (f"warn  config      ARGUS_DEDUP_WINDOWS ({env_file}:1) is not a setting Argus reads: "
                 "did you mean ARGUS_DEDUP_WINDOW?",
                 "warn  config      ARGUS_DECIDER_X (environment) is not a setting Argus reads: "
                 "did you mean ARGUS_DECIDER?"):
        assert line in doctor.stdout, doctor.stdout


# --- a line that is no assignment -----------------------------------------------------------------

@pytest.mark.parametrize("garbage", ["garbage", "this is garbage", "ARGUS_DEDUP_WINDOW 7200", "sk-ant-secret"])
def test_a_line_that_is_not_an_assignment_names_file_and_line(run_argus, argus_env: dict[str, str],
                                                              tmp_path: Path, garbage: str) -> None:
    env_file = write_env(tmp_path, TYPOS + garbage + "\n")
    with pytest.raises(EnvFileError) as err:
        load({**argus_env, "ARGUS_ENV_FILE": str(env_file)})
    assert str(err.value) == f"{env_file}:4: expected NAME=VALUE"
    if garbage == "garbage":
        doctor = run_argus("doctor", env={**argus_env, "ARGUS_ENV_FILE": str(env_file)})
        assert doctor.returncode == 1
        assert f"FAIL  config      {env_file}:4: expected NAME=VALUE" in doctor.stdout


# --- where a value came from ----------------------------------------------------------------------

def test_an_error_names_the_env_file_and_line_of_the_value(argus_env: dict[str, str], tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "# Argus\nARGUS_MODEL=m\nARGUS_LLM_TIMEOUT=1000\n")
    with pytest.raises(ConfigError) as err:
        load({**argus_env, "ARGUS_ENV_FILE": str(env_file)})
    assert str(err.value) == (f"ARGUS_LLM_TIMEOUT='1000' (from {env_file}:3) is invalid: "
                              "expected an integer from 5 to 300 (seconds, or 90s/15m/1h/7d)")


def test_the_last_line_setting_a_name_is_the_one_named(argus_env: dict[str, str], tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "ARGUS_DECIDER=rules\nARGUS_MODEL=m\nARGUS_DECIDER=oracle\n")
    with pytest.raises(ConfigError, match=rf"ARGUS_DECIDER='oracle' \(from {re.escape(str(env_file))}:3\)"):
        load({**argus_env, "ARGUS_ENV_FILE": str(env_file)})


def test_an_error_names_the_environment_when_it_won(argus_env: dict[str, str], tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "ARGUS_DECIDER=rules\n")
    with pytest.raises(ConfigError, match=r"ARGUS_DECIDER='x' \(from the environment\) is invalid"):
        load({**argus_env, "ARGUS_ENV_FILE": str(env_file), "ARGUS_DECIDER": "x"})


@pytest.mark.parametrize(("name", "value"), [("ARGUS_SERVICES", "web"), ("ARGUS_FRESHNESS", "x=/tmp:soon"),
                                             ("ARGUS_ALLOWED_SERVICES", "a;b"), ("ARGUS_ORPHAN_PATTERN", ".*")])
def test_structured_values_name_their_line_too(argus_env: dict[str, str], tmp_path: Path,
                                               name: str, value: str) -> None:
    env_file = write_env(tmp_path, f"ARGUS_MODEL=m\n{name}='{value}'\n")
    with pytest.raises(ConfigError) as err:
        load({**argus_env, "ARGUS_ENV_FILE": str(env_file)})
    assert err.value.name == name and f"(from {env_file}:2) is invalid" in str(err.value)


def test_a_secret_stays_hidden_with_its_source(argus_env: dict[str, str], tmp_path: Path) -> None:
    env_file = tmp_path / "argus.env"
    env_file.write_bytes(b"TELEGRAM_BOT_TOKEN='123:Tok3nZq\x00Vv'\n")
    with pytest.raises(ConfigError) as err:
        load({**argus_env, "ARGUS_ENV_FILE": str(env_file)})
    assert str(err.value).startswith(f"TELEGRAM_BOT_TOKEN=<hidden> (from {env_file}:1) is invalid")
    assert "Tok3nZq" not in str(err.value) and "Vv" not in str(err.value)


# --- an inconsistent pair -------------------------------------------------------------------------

def test_only_a_low_crit_blames_no_default(argus_env: dict[str, str]) -> None:
    with pytest.raises(PairError) as err:
        load({**argus_env, "ARGUS_DISK_CRIT_PCT": "10"})
    message = str(err.value)
    assert "is invalid" not in message and err.value.name == "ARGUS_DISK_CRIT_PCT"
    assert message == ("ARGUS_DISK_WARN_PCT=80 (the default) is above ARGUS_DISK_CRIT_PCT=10 (from the "
                       "environment): the warning threshold must not exceed the critical one; set "
                       "ARGUS_DISK_WARN_PCT to 10 or less as well, or raise ARGUS_DISK_CRIT_PCT to 80 or more")


def test_a_pair_set_in_the_file_names_both_lines(argus_env: dict[str, str], tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "ARGUS_MEMORY_CRIT_PCT=70\nARGUS_MEMORY_WARN_PCT=75\n")
    with pytest.raises(PairError) as err:
        load({**argus_env, "ARGUS_ENV_FILE": str(env_file)})
    assert err.value.name == "ARGUS_MEMORY_WARN_PCT"
    assert str(err.value) == (f"ARGUS_MEMORY_WARN_PCT=75 (from {env_file}:2) is above ARGUS_MEMORY_CRIT_PCT=70 "
                              f"(from {env_file}:1): the warning threshold must not exceed the critical one; "
                              "lower ARGUS_MEMORY_WARN_PCT to 70 or less, or raise ARGUS_MEMORY_CRIT_PCT to 75 or more")


def test_the_cli_prints_the_pair_in_one_line(run_argus, argus_env: dict[str, str]) -> None:
    result = run_argus("collect", "--json", env={**argus_env, "ARGUS_DISK_CRIT_PCT": "10"})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "ARGUS_DISK_WARN_PCT=80 (the default) is above ARGUS_DISK_CRIT_PCT=10" in result.stderr


# --- durations ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600),
                                               ("7d", 604800), ("0s", 0), ("-5", -5)])
def test_a_duration_is_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["1h30m", "1.5h", "15M", "1H", "h", "s", "", " 1h", "1 h", "+1h", "1w", "1_0s",
                                  "\u0661h", "-1h"])
def test_anything_else_is_no_duration(text: str) -> None:
    assert parse_duration(text) is None


def test_seconds_settings_take_units_and_the_range_applies_to_the_seconds(argus_env: dict[str, str],
                                                                           tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "ARGUS_DEDUP_WINDOW=2h\nARGUS_REPEAT_INTERVAL='7d'\n")
    config = load({**argus_env, "ARGUS_ENV_FILE": str(env_file), "ARGUS_LLM_TIMEOUT": "5m",
                   "ARGUS_BOOT_GRACE_SECONDS": "90s", "ARGUS_CYCLE_TIMEOUT": "1h",
                   "ARGUS_FRESHNESS": "db=/srv/db:15m,logs=/var/log:3600"})
    assert (config.dedup_window, config.repeat_interval, config.llm_timeout) == (7200, 604800, 300)
    assert (config.boot_grace_seconds, config.cycle_timeout) == (90, 3600)
    assert [check.max_age_seconds for check in config.freshness] == [900, 3600]
    for name, value in (("ARGUS_LLM_TIMEOUT", "6m"), ("ARGUS_REPEAT_INTERVAL", "8d"), ("ARGUS_CYCLE_TIMEOUT", "2h")):
        with pytest.raises(ConfigError, match=r"\(seconds, or 90s/15m/1h/7d\)") as err:
            load({**argus_env, name: value})
        assert err.value.name == name
    with pytest.raises(ConfigError, match="or 90s/15m/1h/7d"):
        load({**argus_env, "ARGUS_FRESHNESS": "db=/srv/db:3651d"})


def test_only_seconds_settings_take_units(argus_env: dict[str, str]) -> None:
    durations = {var.name for var in VARIABLES if var.duration}
    assert "ARGUS_DEDUP_WINDOW" in durations and "ARGUS_LLM_TIMEOUT" in durations
    assert all("SECONDS" in name or "TIMEOUT" in name or "DELAY" in name
               or name in ("ARGUS_DEDUP_WINDOW", "ARGUS_REPEAT_INTERVAL", "ARGUS_APPROVAL_TTL") for name in durations)
    for name in ("ARGUS_STATS_WINDOW_DAYS", "ARGUS_HISTORY_CYCLES", "ARGUS_MIN_FREE_MB", "ARGUS_MEMORY_WARN_PCT"):
        assert name not in durations
        with pytest.raises(ConfigError, match=name):
            load({**argus_env, name: "1d"})

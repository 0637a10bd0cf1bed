"""Configuration: layering, validation and the exit-2 contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from argus_cli.config import (
    UNIT_NAME,
    VARIABLES,
    Config,
    ConfigError,
    FreshnessCheck,
    ServiceCheck,
    load,
    parse_env_file,
)


def test_defaults_follow_the_spec(argus_env):
    cfg = load(argus_env)
    assert cfg.decider == "auto" and cfg.model == "claude-haiku-4-5"
    assert cfg.kill_allowlist == ("node", "claude", "codex")
    assert cfg.load_factor == 2.0 and cfg.llm_every_cycle is False
    assert cfg.problems_file == cfg.state_dir / "problems.jsonl"
    assert cfg.log_dir == cfg.state_dir / "logs"
    assert cfg.relay_fallback_file == cfg.state_dir / "relay-fallback.jsonl"


def test_state_dir_defaults_to_xdg(argus_env, tmp_path):
    env = {k: v for k, v in argus_env.items() if k != "ARGUS_STATE_DIR"}
    assert load({**env, "XDG_STATE_HOME": str(tmp_path / "xdg")}).state_dir == tmp_path / "xdg" / "argus"
    env.pop("XDG_STATE_HOME", None)
    assert load({**env, "HOME": str(tmp_path)}).state_dir == tmp_path / ".local" / "state" / "argus"


def test_environment_wins_over_env_file(argus_env, tmp_path):
    env_file = tmp_path / "argus.env"
    env_file.write_text('# comment\nexport ARGUS_DEDUP_WINDOW=120\nARGUS_MODEL="claude-x"\n'
                        "ARGUS_DISK_PATHS='/, /var'  # two mounts\n")
    env = {**argus_env, "ARGUS_ENV_FILE": str(env_file), "ARGUS_MODEL": "from-env"}
    cfg = load(env)
    assert cfg.dedup_window == 120
    assert cfg.model == "from-env"
    assert cfg.disk_paths == ("/", "/var")
    assert cfg.env_file == env_file


@pytest.mark.parametrize(("name", "value", "fragment"), [
    ("ARGUS_DEDUP_WINDOW", "abc", "ARGUS_DEDUP_WINDOW='abc' (from the environment) is invalid: "
                                   "expected an integer from 1 to 315360000 (seconds, or 90s/15m/1h/7d)"),
    ("ARGUS_LLM_TIMEOUT", "301", "expected an integer from 5 to 300"),
    ("ARGUS_MEMORY_WARN_PCT", "0", "expected an integer from 1 to 100"),
    ("ARGUS_HISTORY_CYCLES", "51", "expected an integer from 0 to 50"),
    ("ARGUS_BOOT_GRACE_SECONDS", "-1", "expected an integer from 0 to 86400"),
    ("ARGUS_LOAD_FACTOR", "0", "expected a number > 0 and <= 1000"),
    ("ARGUS_LOAD_FACTOR", "nan", "expected a number > 0"),
    ("ARGUS_LOAD_FACTOR", "1000.5", "expected a number > 0 and <= 1000"),
    ("ARGUS_BEAD_REPEAT_WINDOW_SECONDS", "100000000000", "expected an integer from 1 to 315360000"),
    ("ARGUS_FRESHNESS", "x=/tmp:315360001", "seconds from 1 to 315360000"),
    ("ARGUS_LLM_EVERY_CYCLE", "maybe", "expected a boolean"),
    ("ARGUS_DECIDER", "oracle", "expected one of auto, llm, rules"),
    ("ARGUS_SERVICES", "web", "name=systemd:UNIT"),
    ("ARGUS_SERVICES", "web=tcp:host:99999", "name=systemd:UNIT"),
    ("ARGUS_FRESHNESS", "x=/tmp:soon", "name=PATH:MAX_AGE_SECONDS"),
    ("ARGUS_ALLOWED_SERVICES", "nginx;reboot", "systemd unit names"),
    ("ARGUS_ORPHAN_PATTERN", "node(", "a regex"),
    ("ARGUS_BEAD_PRIORITY", "5", "expected an integer from 0 to 4"),
])
def test_bad_values_name_variable_value_and_range(argus_env, name, value, fragment):
    with pytest.raises(ConfigError) as err:
        load({**argus_env, name: value})
    assert fragment in str(err.value) and name in str(err.value)


def test_warn_above_crit_is_refused(argus_env):
    with pytest.raises(ConfigError, match="ARGUS_MEMORY_WARN_PCT"):
        load({**argus_env, "ARGUS_MEMORY_WARN_PCT": "95", "ARGUS_MEMORY_CRIT_PCT": "90"})


def test_secrets_never_appear_in_errors_or_repr(argus_env):
    cfg = load({**argus_env, "ANTHROPIC_API_KEY": "sk-ant-secret123", "TELEGRAM_BOT_TOKEN": "123:tok"})
    assert "sk-ant-secret123" not in repr(cfg) and "123:tok" not in repr(cfg)
    assert set(cfg.secrets()) == {"sk-ant-secret123", "123:tok"}
    assert "<hidden>" in str(ConfigError("TELEGRAM_BOT_TOKEN", "123:tok", "x"))


def test_every_variable_has_a_comment_and_valid_default(argus_env):
    load(argus_env)  # every default passes its own validation
    assert all(var.comment and var.name.isupper() for var in VARIABLES)
    assert len({var.name for var in VARIABLES}) == len(VARIABLES)


def test_unreadable_env_file_is_a_config_error(argus_env, tmp_path):
    with pytest.raises(ConfigError, match="ARGUS_ENV_FILE"):
        load({**argus_env, "ARGUS_ENV_FILE": str(tmp_path / "missing.env")})


def test_parse_env_file_quotes_and_comments():
    assert parse_env_file("A='x # y'\nB=\"q\"\n#C=1\n\nD=plain # note\n") == {
        "A": "x # y", "B": "q", "D": "plain"}


def test_cli_exits_2_with_one_clear_line(run_argus, argus_env):
    result = run_argus("collect", "--json", env={**argus_env, "ARGUS_DEDUP_WINDOW": "abc"})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "ARGUS_DEDUP_WINDOW='abc'" in lines[0] and "integer from 1 to" in lines[0]


# --- issue 9, item 1: an orphan pattern that matches everything would kill every process --------

@pytest.mark.parametrize("pattern", ["", ".*", "(?s).*", "a*", "|node", "^", ".", ".+", r"\S", "(?i)[a-z0-9/-]"])
def test_an_orphan_pattern_matching_everything_is_refused(argus_env, pattern):
    with pytest.raises(ConfigError, match="ARGUS_ORPHAN_PATTERN") as err:
        load({**argus_env, "ARGUS_ORPHAN_PATTERN": pattern})
    assert "ARGUS_ORPHAN_SWEEP=false" in str(err.value)


def test_an_empty_orphan_pattern_in_the_env_file_exits_2(run_argus, argus_env, tmp_path):
    env_file = tmp_path / "argus.env"
    env_file.write_text("ARGUS_ORPHAN_PATTERN=\n")
    result = run_argus("collect", "--json", env={**argus_env, "ARGUS_ENV_FILE": str(env_file)})
    assert result.returncode == 2 and "ARGUS_ORPHAN_PATTERN=''" in result.stderr
    doctor = run_argus("doctor", env={**argus_env, "ARGUS_ENV_FILE": str(env_file)})
    assert doctor.returncode == 1 and "FAIL  config" in doctor.stdout and "ARGUS_ORPHAN_PATTERN" in doctor.stdout


@pytest.mark.parametrize("pattern", ["node.*--test", "argus-orphan-1234", r"^/usr/bin/node\b.*--test", "pytest"])
def test_a_specific_orphan_pattern_is_accepted(argus_env, pattern):
    assert load({**argus_env, "ARGUS_ORPHAN_PATTERN": pattern}).orphan_pattern == pattern


def test_the_sweep_is_switched_off_explicitly(argus_env):
    assert load({**argus_env, "ARGUS_ORPHAN_SWEEP": "false"}).orphan_sweep is False


# --- issue 9, item 14: validation patterns must not admit a trailing newline ----------------------

@pytest.mark.parametrize("unit", ["web\n", "web.service\n"])
def test_a_unit_name_with_a_trailing_newline_is_not_a_unit(unit):
    assert UNIT_NAME.match(unit) is None and UNIT_NAME.match(unit.rstrip("\n"))


def test_every_variable_is_a_typed_attribute_named_after_it(argus_env):
    # the class body is the one table: the attribute is the variable's name, less ARGUS_, lower-case
    config = load(argus_env)
    for var in VARIABLES:
        attribute = var.name.removeprefix("ARGUS_").lower()
        assert getattr(Config, attribute).var is var, var.name
        assert getattr(config, attribute) is config.values[var.name], var.name


def test_derived_values_are_typed_not_strings(argus_env):
    config = load({**argus_env, "ARGUS_SERVICES": "web=tcp:127.0.0.1:80", "ARGUS_FRESHNESS": "db=/srv/db:60",
                   "ARGUS_LOG_DIR": "/var/log/argus"})
    assert config.services == (ServiceCheck("web", "tcp:127.0.0.1:80"),)
    assert config.freshness == (FreshnessCheck("db", "/srv/db", 60),)
    assert config.log_dir == Path("/var/log/argus") and isinstance(config.prompt_file, Path)
    assert not any(name.startswith("_") for name in config.values)  # nothing stuffed beside the variables

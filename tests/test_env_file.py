"""The env file is read as the shell reads it, and what the shell would read differently is refused
(issue 9, item 9): quotes, trailing comments, escapes, a BOM, and errors naming file and line."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import REPO

from argus_cli.config import ConfigError, EnvFileError, load, parse_env_file


@pytest.mark.parametrize(("line", "value"), [
    ('ARGUS_KILL_ALLOWLIST="node,claude" # who', "node,claude"),
    ('TELEGRAM_CHAT_ID="-100123"   # ops', "-100123"),
    ("TELEGRAM_CHAT_ID='-100123'\t# ops", "-100123"),
    ("TELEGRAM_CHAT_ID=-100123 # ops", "-100123"),
    ("export TELEGRAM_CHAT_ID=-100123", "-100123"),
    ("A='x # y'", "x # y"),
    ("A='single $HOME `x` \\n'", "single $HOME `x` \\n"),
    ('A="dq \\" \\\\ \\$HOME \\` \\n"', 'dq " \\ $HOME ` \\n'),
    ("A=a\\ b\\$c\\#d", "a b$c#d"),
    ("web=https://h/x#frag", "https://h/x#frag"),
    ("A=#not-a-comment", "#not-a-comment"),
    ("A=", ""),
    ("A=   # empty, with a note", ""),
    ("A=''", ""),
    ("A=a'b c'\"d\"", "ab cd"),
    ("  A=indented", "indented"),
    ("A=x=y:z,w", "x=y:z,w"),
])
def test_values_read_as_the_shell_reads_them(line, value, tmp_path):
    assert parse_env_file(line + "\n") == {line.split("=", 1)[0].split()[-1]: value}
    bash = shutil.which("bash")
    if bash is not None:  # the same line, sourced by a real shell, gives the same value
        name = line.split("=", 1)[0].split()[-1]
        script = tmp_path / "line.env"
        script.write_text(line + "\n")
        shell = subprocess.run([bash, "-c", f'. "$1"; printf %s "${name}"', "sh", str(script)],
                               capture_output=True, text=True, env={}, check=True, timeout=10)
        assert shell.stdout == value


@pytest.mark.parametrize(("line", "why"), [
    ('TELEGRAM_CHAT_ID="-100123', "unterminated double quote"),
    ("TELEGRAM_CHAT_ID='-100123", "unterminated single quote"),
    ("A=x\\", "ends in a backslash"),
    ("just some words", "expected NAME=VALUE"),
    ("A = 1", "not a variable name"),
    ("1A=2", "not a variable name"),
    ("A-B=2", "not a variable name"),
    ("A=a b", "unquoted blank"),
    ("A= b", "unquoted blank"),
    ("A=$HOME", "unquoted $"),
    ("A=pre${X}post", "unquoted $"),
    ('A="$HOME"', "$ in double quotes"),
    ('A="`id`"', "` in double quotes"),
    ("A=`id`", "unquoted `"),
    ("A=a;reboot", "unquoted ;"),
    ("A=a&b", "unquoted &"),
    ("A=a|b", "unquoted |"),
    ("A=a>b", "unquoted >"),
    ("A=~/x", "unquoted ~"),
])
def test_what_the_shell_would_refuse_or_expand_is_refused_naming_file_and_line(line, why):
    with pytest.raises(EnvFileError) as err:
        parse_env_file(f"# first line\nOK=1\n{line}\n", "/etc/argus/argus.env")
    message = str(err.value)
    assert message.startswith("/etc/argus/argus.env:3: ") and why in message
    assert isinstance(err.value, ConfigError)


def test_a_secret_is_never_echoed_in_the_error():
    with pytest.raises(EnvFileError) as err:
        parse_env_file("TELEGRAM_BOT_TOKEN='123:secret-token\n", "argus.env")
    assert "secret-token" not in str(err.value) and "TELEGRAM_BOT_TOKEN" in str(err.value)
    with pytest.raises(EnvFileError) as err:
        parse_env_file("sk-ant-secret-key\n", "argus.env")
    assert "secret" not in str(err.value)


def test_a_bom_is_not_part_of_the_first_name():
    assert parse_env_file("\ufeffARGUS_DECIDER=rules\nARGUS_MODEL=m\n") == {"ARGUS_DECIDER": "rules",
                                                                              "ARGUS_MODEL": "m"}


def test_crlf_line_ends_are_accepted():
    assert parse_env_file("A=1\r\nB='two'\r\n") == {"A": "1", "B": "two"}


def test_load_reads_quoted_values_with_comments(argus_env, tmp_path):
    env_file = tmp_path / "argus.env"
    env_file.write_text('\ufeffARGUS_KILL_ALLOWLIST="node,claude" # who may be killed\n'
                        'TELEGRAM_CHAT_ID="-100123" # ops\nTELEGRAM_BOT_TOKEN="1:tok"\n', encoding="utf-8")
    config = load({**argus_env, "ARGUS_ENV_FILE": str(env_file)})
    assert config.kill_allowlist == ("node", "claude")
    assert config.telegram_chat_id == "-100123" and config.telegram_configured


def test_a_file_that_is_not_utf8_names_the_line(argus_env, tmp_path):
    env_file = tmp_path / "argus.env"
    env_file.write_bytes(b"A=1\nARGUS_MODEL=caf\xe9\n")
    with pytest.raises(EnvFileError, match=r"argus.env:2: not UTF-8"):
        load({**argus_env, "ARGUS_ENV_FILE": str(env_file)})


def test_the_shipped_example_and_the_installed_file_parse(tmp_path):
    example = (REPO / "argus.env.example").read_text(encoding="utf-8")
    assert parse_env_file(example)["ARGUS_ORPHAN_PATTERN"] == "node.* --test( |$)"
    # what scripts/install.sh writes: the example with the state dir filled in
    installed = example.replace("\nARGUS_STATE_DIR=\n", "\nARGUS_STATE_DIR=/var/lib/argus\n")
    assert parse_env_file(installed)["ARGUS_STATE_DIR"] == "/var/lib/argus"


def test_cli_exits_2_and_doctor_fails_naming_file_and_line(run_argus, argus_env, tmp_path):
    env_file = tmp_path / "argus.env"
    env_file.write_text("# Argus\nARGUS_DECIDER=rules\nTELEGRAM_CHAT_ID=\"-100123 # ops\n")
    env = {**argus_env, "ARGUS_ENV_FILE": str(env_file)}
    result = run_argus("collect", "--json", env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (f"argus: configuration error: {env_file}:3: TELEGRAM_CHAT_ID: "
                                     "unterminated double quote")
    doctor = run_argus("doctor", env=env)
    assert doctor.returncode == 1
    assert f"FAIL  config      {env_file}:3: TELEGRAM_CHAT_ID: unterminated double quote" in doctor.stdout



def test_a_fifo_or_a_device_as_the_env_file_is_refused_at_once(run_argus, argus_env, tmp_path):
    """A FIFO would block `argus cycle` before any time limit is armed; /dev/zero never ends."""
    import os
    fifo = tmp_path / "argus.env"
    os.mkfifo(fifo)
    for path, why in ((fifo, "a regular file"), ("/dev/zero", "at most 1024 KiB"), (tmp_path, "a regular file")):
        proc = run_argus("cycle", "--dry-run", env={**argus_env, "ARGUS_ENV_FILE": str(path)}, timeout=20)
        assert proc.returncode == 2 and why in proc.stderr, proc.stderr


def test_dev_null_is_an_empty_env_file(argus_env):
    assert load({**argus_env, "ARGUS_ENV_FILE": "/dev/null"}).env_file is not None


def test_an_env_file_over_1_mib_is_refused(argus_env, tmp_path):
    big = tmp_path / "argus.env"
    big.write_text("# padding\n" * 120_000)
    with pytest.raises(ConfigError, match="at most 1024 KiB"):
        load({**argus_env, "ARGUS_ENV_FILE": str(big)})


@pytest.mark.parametrize(("line", "name"), [("ARGUS_PROBLEMS_FILE=/tmp/p\x00.jsonl", "ARGUS_PROBLEMS_FILE"),
                                            ("TELEGRAM_BOT_TOKEN=123:SECRET\x00zz", "TELEGRAM_BOT_TOKEN"),
                                            ("ARGUS_LLM_TIMEOUT=1_0", "ARGUS_LLM_TIMEOUT"),
                                            ("ARGUS_LLM_TIMEOUT=+30", "ARGUS_LLM_TIMEOUT"),
                                            ("ARGUS_LLM_TIMEOUT=\u0663\u0660", "ARGUS_LLM_TIMEOUT"),
                                            ("ARGUS_LOAD_FACTOR=1_0.5", "ARGUS_LOAD_FACTOR")])
def test_nul_bytes_and_odd_number_spellings_are_refused(argus_env, tmp_path, line, name):
    env_file = tmp_path / "argus.env"
    env_file.write_text(line + "\n")
    with pytest.raises(ConfigError) as refused:
        load({**argus_env, "ARGUS_ENV_FILE": str(env_file)})
    assert refused.value.name == name and "SECRET" not in str(refused.value)

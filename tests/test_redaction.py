"""Secrets stay in Argus's memory: redacted from text, absent from every child's environment."""

from __future__ import annotations

import json

from conftest import write_executable

from argus_cli.redaction import REDACTED, child_env, redact

KEY, TOKEN = "sk-ant-test-0123456789", "123456:AAbb/cc+dd\x7f"


def test_redact_covers_raw_quoted_and_escaped_forms():
    text = (f"raw {KEY} url /bot123456%3AAAbb%2Fcc%2Bdd%7F/sendMessage "
            f"repr {TOKEN!r} json {json.dumps(TOKEN)}")
    cleaned = redact(text, [KEY, TOKEN, ""])
    assert KEY not in cleaned and "AAbb" not in cleaned
    assert cleaned.count(REDACTED) == 4


def test_child_env_leaves_secrets_out():
    env = child_env({"PATH": "/bin", "ANTHROPIC_API_KEY": KEY, "TELEGRAM_BOT_TOKEN": TOKEN, "X": "1"})
    assert env == {"PATH": "/bin", "X": "1"}


_DUMP_ENV = '#!/bin/sh\nenv > "$(dirname "$0")/$(basename "$0").$$.env"\n'


def test_tools_argus_starts_never_see_the_secrets(run_argus, argus_env, tmp_path):
    bin_dir = tmp_path / "bin"
    write_executable(bin_dir / "systemctl", _DUMP_ENV + 'case "$1" in is-active) echo active;; esac\nexit 0\n')
    write_executable(bin_dir / "bd", _DUMP_ENV + 'case "$1" in list) echo "[]";; create) echo argus-1;; esac\n')
    write_executable(bin_dir / "relay", _DUMP_ENV + "exit 0\n")
    env = {**argus_env, "ANTHROPIC_API_KEY": KEY, "TELEGRAM_BOT_TOKEN": "123456:AAbbcc",
           "ARGUS_ALLOWED_SERVICES": "web.service"}
    decision = {"assessment": "test", "actions": [
        {"type": "restart_service", "target": "web.service", "reason": "down"},
        {"type": "log", "observation": "web restarted"}]}
    result = run_argus("act", "--decision", "-", "--json", env=env, input=json.dumps(decision))
    assert result.returncode == 0, result.stderr
    dumps = {p.name.split(".")[0] for p in bin_dir.glob("*.env")}
    assert {"systemctl", "bd", "relay"} <= dumps  # every tool really ran
    for dump in bin_dir.glob("*.env"):
        text = dump.read_text()
        assert "ANTHROPIC_API_KEY" not in text and "TELEGRAM_BOT_TOKEN" not in text, dump.name
        assert "PATH=" in text
    assert KEY not in result.stdout + result.stderr

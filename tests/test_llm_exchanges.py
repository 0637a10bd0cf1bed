"""llm.jsonl: every LLM exchange on record, against the local Messages API stand-in."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from helpers_anthropic import DUMMY_KEY, NOMINAL, FakeAnthropic, error, llm_env, refusal, slow, text, tool_use

from argus_cli.cycle import run_cycle
from argus_cli.decide import exchanges, message
from argus_cli.decide.llm import ask_llm
from argus_cli.snapshot import Snapshot, parse_snapshot
from argus_cli.state.files import iter_jsonl
from argus_cli.state.layout import LLM_EXCHANGES

SCENARIOS = Path(__file__).parent / "scenarios"
NOW = 1_771_590_000.0
TELEGRAM_TOKEN = "123456:TELEGRAM-SECRET-abc"  # noqa: S105 - a dummy


def raw_snapshot(name: str = "disk_92") -> dict[str, Any]:
    return json.loads((SCENARIOS / f"{name}.json").read_text())["snapshot"]


def snapshot(name: str = "disk_92") -> Snapshot:
    return parse_snapshot(raw_snapshot(name))


def sha256(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()


def exchanges_of(state: Path, name: str = LLM_EXCHANGES) -> list[dict[str, Any]]:
    return list(iter_jsonl(state / name))


@pytest.fixture
def fake() -> Any:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exchanges, "_REPORTED", set())  # "said once per process" must not leak between tests


def ask(config: Any, snap: Snapshot | None = None, **kw: Any) -> Any:
    return ask_llm(config, snap or snapshot(), [], {}, now=NOW, **kw)


def test_a_cycle_that_asks_the_llm_leaves_one_full_line(fake: FakeAnthropic, argus_env: dict[str, str],
                                                        config_of: Any) -> None:
    config = config_of(llm_env(argus_env, fake))
    fake.queue(tool_use(NOMINAL, usage=(1500, 90)))
    cycle = run_cycle(config, now=NOW, decider="llm", collect=lambda now: snapshot(), install_signals=False)
    assert cycle["llm_called"] and cycle["decider"] == "llm", cycle
    [line] = exchanges_of(config.state_dir)
    body = fake.requests[0]["body"]
    user = fake.user_text()
    assert line["ts"] == cycle["ts"] and line["dry_run"] is False
    assert line["model"] == "claude-haiku-4-5" and line["outcome"] == "ok" and line["error"] is None
    assert line["usage"] == {"input_tokens": 1500, "output_tokens": 90}
    assert isinstance(line["duration_ms"], int) and 0 <= line["duration_ms"] < 30_000
    assert line["user"] == user and line["truncated"] is False
    assert line["user_sha256"] == sha256(user) and line["user_bytes"] == len(user.encode())
    assert line["system_sha256"] == sha256(body["system"]) and body["system"] not in json.dumps(line)
    assert line["answer"] == NOMINAL and line["answer_truncated"] is False and line["stop_reason"] == "tool_use"
    assert stat.S_IMODE(os.stat(config.state_dir / LLM_EXCHANGES).st_mode) == 0o600  # prompts describe the host


def test_a_dry_run_still_records_what_it_spent(fake: FakeAnthropic, argus_env: dict[str, str],
                                               config_of: Any) -> None:
    config = config_of(llm_env(argus_env, fake))
    run_cycle(config, dry_run=True, now=NOW, decider="llm", collect=lambda now: snapshot(), install_signals=False)
    [line] = exchanges_of(config.state_dir)
    assert line["dry_run"] is True and line["outcome"] == "ok" and line["usage"]["input_tokens"] == 1200


@pytest.mark.parametrize(("case", "outcome", "status", "needle"), [
    ("http-500", "error", 500, "InternalServerError"),
    ("refusal", "refused", None, "refused"),
    ("prose", "unusable", None, "no JSON object"),
])
def test_failed_calls_are_recorded_too(case: str, outcome: str, status: int | None, needle: str, *,
                                       fake: FakeAnthropic, argus_env: dict[str, str], config_of: Any) -> None:
    config = config_of(llm_env(argus_env, fake))
    fake.queue({"http-500": error(500), "refusal": refusal(), "prose": text("I think everything is fine.")}[case])
    assert ask(config).decision is None
    [line] = exchanges_of(config.state_dir)
    assert line["outcome"] == outcome and line["status_code"] == status and needle in line["error"]
    assert "\n" not in line["error"] and line["user"] == fake.user_text()
    if outcome == "error":
        assert line["answer"] is None and line["usage"] is None
    else:  # a reply came: what the model said is kept, and its cost
        assert line["answer"] and line["usage"] == {"input_tokens": 1200, "output_tokens": 85}


def test_a_timed_out_call_is_recorded(fake: FakeAnthropic, argus_env: dict[str, str], config_of: Any) -> None:
    config = config_of(llm_env(argus_env, fake, ARGUS_LLM_TIMEOUT="5"))
    fake.queue(slow(6.0, tool_use(NOMINAL)))
    assert ask(config).decision is None
    [line] = exchanges_of(config.state_dir)
    assert line["outcome"] == "error" and "Timeout" in line["error"] and line["duration_ms"] >= 4500


def test_no_secret_reaches_the_file(fake: FakeAnthropic, argus_env: dict[str, str], config_of: Any) -> None:
    config = config_of(llm_env(argus_env, fake, TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_CHAT_ID="42"))
    raw = raw_snapshot()
    # a command line on the host that quotes the keys: the prompt shows it, the record must not
    raw["memory_hog"]["name"] = f"curl -H 'x-api-key: {DUMMY_KEY}' https://api.telegram.org/bot{TELEGRAM_TOKEN}/x"
    snap = parse_snapshot(raw)
    fake.queue(error(401, "authentication_error", f"invalid x-api-key {DUMMY_KEY}"),
               tool_use({**NOMINAL, "observations": [f"saw {DUMMY_KEY} in a command line"]}))
    ask(config, snap)
    ask(config, snap)
    assert DUMMY_KEY in fake.user_text()  # the test is real: the secret was in what was sent
    data = (config.state_dir / LLM_EXCHANGES).read_text()
    assert len(exchanges_of(config.state_dir)) == 2
    for secret in (DUMMY_KEY, TELEGRAM_TOKEN, "TELEGRAM-SECRET"):
        assert secret not in data
    first, second = exchanges_of(config.state_dir)
    assert "<redacted>" in first["error"] and "<redacted>" in first["user"]
    assert second["answer"]["observations"] == ["saw <redacted> in a command line"]


def test_a_long_message_is_cut_but_its_digest_is_whole(fake: FakeAnthropic, argus_env: dict[str, str],
                                                       config_of: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exchanges, "TEXT_CAP", 1000)
    monkeypatch.setattr(exchanges, "ANSWER_CAP", 50)
    config = config_of(llm_env(argus_env, fake))
    ask(config)
    [line] = exchanges_of(config.state_dir)
    user = fake.user_text()
    assert line["truncated"] is True and user.startswith(line["user"]) and len(line["user"].encode()) <= 1000
    assert line["user_sha256"] == sha256(user) and line["user_bytes"] == len(user.encode())
    assert line["answer_truncated"] is True and json.dumps(NOMINAL, separators=(",", ":")).startswith(line["answer"])


def test_a_symlinked_file_is_not_written_through(fake: FakeAnthropic, argus_env: dict[str, str], config_of: Any,
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_of(llm_env(argus_env, fake))
    config.state_dir.mkdir(mode=0o700)
    target = tmp_path / "elsewhere.jsonl"
    target.write_text("")
    (config.state_dir / "llm.jsonl").symlink_to(target)
    assert ask(config).decision is not None
    assert target.read_text() == ""
    assert not (config.state_dir / "llm.jsonl").is_symlink() and len(exchanges_of(config.state_dir)) == 1
    assert [p.name for p in config.state_dir.glob("llm.jsonl.corrupt-*")]
    assert "moved aside" in capsys.readouterr().err


def test_a_write_failure_never_costs_the_decision(fake: FakeAnthropic, argus_env: dict[str, str], config_of: Any,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    def full_disk(*args: Any, **kw: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exchanges, "append_jsonl", full_disk)
    config = config_of(llm_env(argus_env, fake))
    assert ask(config).decision is not None
    assert ask(config).decision is not None
    err = capsys.readouterr().err
    assert err.count("cannot record the LLM exchange") == 1 and "No space left on device" in err
    line = run_cycle(config, now=NOW, decider="llm", collect=lambda now: snapshot(), install_signals=False)
    assert line["status"] == "ok" and line["decider"] == "llm"


def test_an_untrusted_state_dir_gets_no_record(fake: FakeAnthropic, argus_env: dict[str, str], config_of: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = config_of(llm_env(argus_env, fake))
    config.state_dir.mkdir()
    config.state_dir.chmod(0o777)  # `argus decide` does not vet the state dir itself
    assert ask(config, dry_run=True).decision is not None
    assert not (config.state_dir / "llm.jsonl").exists()
    assert "writable by group or others" in capsys.readouterr().err


def test_an_unreadable_prompt_sends_nothing_and_records_nothing(fake: FakeAnthropic, argus_env: dict[str, str],
                                                                config_of: Any, tmp_path: Path) -> None:
    config = config_of(llm_env(argus_env, fake, ARGUS_PROMPT_FILE=str(tmp_path / "nope.md")))
    assert "FileNotFoundError" in (ask(config).error or "")
    assert fake.requests == [] and not (config.state_dir / "llm.jsonl").exists()


def test_argus_last_llm(fake: FakeAnthropic, argus_env: dict[str, str], run_argus: Any) -> None:
    env = llm_env(argus_env, fake)
    proc = run_argus("last", "--llm", env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "no LLM exchange recorded yet" in proc.stderr

    fake.queue(tool_use(NOMINAL, usage=(1300, 70)))
    proc = run_argus("cycle", "--decider", "llm", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    cycle = json.loads(proc.stdout)
    proc = run_argus("last", "--llm", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout)
    assert line["ts"] == cycle["ts"] and line["outcome"] == "ok" and line["user"] == fake.user_text()
    assert line["answer"] == NOMINAL and line["usage"] == {"input_tokens": 1300, "output_tokens": 70}

    proc = run_argus("last", "--llm", env=env)
    assert proc.returncode == 0, proc.stderr
    head = proc.stdout.splitlines()[:2]
    assert head[0].startswith(f"llm {cycle['ts']}  model claude-haiku-4-5  outcome ok")
    assert "tokens in 1300 out 70" in head[1] and "duration" in head[1]
    assert "<snapshot>" in proc.stdout and "--- answer ---" in proc.stdout and '"All nominal."' in proc.stdout

    proc = run_argus("last", "--json", env=env)  # the plain view is unchanged
    assert set(json.loads(proc.stdout)) == {"cycle", "decision", "incidents"}

    fake.queue(error(500))  # `argus decide` spends tokens too; nothing acts on it: a dry-run line
    proc = run_argus("decide", "--metrics", str(SCENARIOS / "disk_92.json"), "--decider", "llm", env=env)
    assert proc.returncode == 0, proc.stderr
    last = json.loads(run_argus("last", "--llm", "--json", env=env).stdout)
    assert last["dry_run"] is True and last["outcome"] == "error" and last["status_code"] == 500
    assert len(exchanges_of(Path(env["ARGUS_STATE_DIR"]))) == 2


def test_the_prompt_history_is_untouched(fake: FakeAnthropic, argus_env: dict[str, str], config_of: Any) -> None:
    """llm.jsonl is not cycles.jsonl: the history the model is shown does not grow from it."""
    config = config_of(llm_env(argus_env, fake))
    ask(config)
    assert message.history(config) == []

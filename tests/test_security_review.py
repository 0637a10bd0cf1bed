"""Security review: each test reproduces a way the guardrails or the secret handling broke.

Real resources only: a private tmux server, real node/python processes (threads included), a
real bind mount (root only), a local HTTP server standing in for Telegram, real state files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest
from helpers_actions import (
    actions_env,
    install_systemctl,
    recorded,
    registry,
    tmux_new,
    tmux_sessions,
    tmux_stop,
    use_env,
    wait_started,
)

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.config import load
from argus_cli.model import Decision
from argus_cli.notify.telegram import send_message
from argus_cli.state import backoff, dedup

FAST = Tuning(kill_grace=0.5, active_timeout=2.0, poll_interval=0.1)


def _act(config, *actions, snapshot=None):
    return execute_decision(config, Decision("t", list(actions), [], "llm"), snapshot, dry_run=False,
                            now=time.time(), tuning=FAST)


# --- kill_tmux: tmux target syntax -------------------------------------------------------------

@pytest.fixture
def sock(tmp_path):
    path = tmp_path / "tmux.sock"
    tmux_new(path, "web", "web-2", "api")
    yield path
    tmux_stop(path)


@pytest.mark.parametrize("target", ["0.0", "web.0", "api."])
def test_kill_tmux_dotted_target_never_kills_a_session_of_another_name(argus_env, tmp_path, monkeypatch, sock, target):
    # tmux reads "=0.0" as window "=0", pane 0 of the current session: it killed a real session.
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_TMUX_SOCKETS=str(sock)))
    [result] = _act(config, {"type": "kill_tmux", "target": target, "reason": "stuck"})
    assert result.status == "rejected", result.detail
    assert tmux_sessions(sock) == {"web", "web-2", "api"}


# --- kill_pid: thread ids ----------------------------------------------------------------------

_NODE_PARENT = """
const fs = require('fs'), {spawnSync} = require('child_process');
const tid = fs.readdirSync('/proc/self/task').map(Number).find(t => t !== process.pid);
// The snapshot lists the TID as a process, as a confused or hostile decider might claim it is.
const shown = {pid: tid, name: 'node', create_time: 0};
fs.writeFileSync(process.argv[1], JSON.stringify({actions: [{type: 'kill_pid', target: tid, reason: 'runaway'}],
                                                  snapshot: {top_processes: [shown]}}));
const r = spawnSync(process.argv[2], ['-m', 'argus_cli', 'act', '--decision', process.argv[1], '--json'],
                    {encoding: 'utf8', env: process.env});
process.stdout.write(r.stdout || '');
process.exit(0);
"""


def test_kill_pid_with_a_thread_id_of_an_ancestor_is_refused(argus_env, tmp_path):
    # Argus started from a node program (an agent CLI): the TID of one of node's threads is not
    # in the protected set, and kill() on a TID signals the whole process, Argus's ancestor.
    env = actions_env(argus_env, tmp_path)
    decision = tmp_path / "decision.json"
    proc = subprocess.run(["node", "-e", _NODE_PARENT, str(decision), sys.executable], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"argus signalled its own ancestor: rc={proc.returncode} {proc.stderr[-300:]}"
    [result] = json.loads(proc.stdout)
    assert result["status"] == "rejected", result["detail"]
    assert "thread" in result["detail"]


_RENAMED_THREAD = """
import ctypes, threading, time
def named():
    ctypes.CDLL(None).prctl(15, b"node", 0, 0, 0)  # PR_SET_NAME: this thread's comm
    time.sleep(60)
threading.Thread(target=named, daemon=True).start()
time.sleep(60)
"""


def test_kill_pid_with_a_renamed_thread_id_does_not_kill_an_unlisted_process(argus_env, tmp_path, monkeypatch):
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", _RENAMED_THREAD])
    try:
        wait_started(proc.pid, "python")
        tid = _thread_named(proc.pid, "node")
        started = psutil.Process(proc.pid).create_time()
        listed = {"top_processes": [{"pid": tid, "name": "node", "create_time": started}]}
        [result] = _act(config, {"type": "kill_pid", "target": tid, "reason": "runaway"}, snapshot=listed)
        time.sleep(0.3)
        assert proc.poll() is None, "a python process was killed through its thread's comm"
        assert result.status == "rejected" and "thread" in result.detail
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _thread_named(pid: int, name: str) -> int:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for tid in os.listdir(f"/proc/{pid}/task"):
            if int(tid) != pid and Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip() == name:
                return int(tid)
        time.sleep(0.02)
    raise AssertionError("thread never renamed")


# --- clean_disk: bind mounts -------------------------------------------------------------------

def test_clean_disk_does_not_enter_a_bind_mount_of_the_same_filesystem(argus_env, tmp_path, monkeypatch):
    env = actions_env(argus_env, tmp_path)
    precious = tmp_path / "precious"
    (precious / "sub").mkdir(parents=True)
    files = [precious / "keep.txt", precious / "sub" / "keep2.txt"]
    mount_point = Path(env["ARGUS_HOST_ROOT"]) / "tmp" / "build-cache"
    mount_point.mkdir(parents=True)
    old = time.time() - 30 * 86400
    for path in files:
        path.write_text("precious")
    for path in [*files, precious / "sub", precious]:
        os.utime(path, (old, old))
    mounted = subprocess.run(["mount", "--bind", str(precious), str(mount_point)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("needs permission to bind-mount (root with CAP_SYS_ADMIN)")
    try:
        assert os.stat(mount_point).st_dev == os.stat(mount_point.parent).st_dev  # st_dev cannot tell
        config = use_env(monkeypatch, env)
        [result] = _act(config, {"type": "clean_disk", "reason": "disk full"})
        assert result.status == "success", result.detail
        assert all(path.exists() for path in files), "clean_disk deleted files outside its root"
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


# --- secrets -----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["\x7f", "\x01", "\n"])
def test_telegram_token_with_a_control_character_never_reaches_the_detail(tmp_path, bad):
    (tmp_path / "none.env").write_text("")
    token = f"123456:SECRETsecret{bad}tail"
    config = load({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_CHAT_ID": "42", "ARGUS_STATE_DIR": str(tmp_path),
                   "ARGUS_TELEGRAM_API_BASE": "http://127.0.0.1:9"}, env_file=tmp_path / "none.env")
    delivery = send_message(config, "disk full", attempts=1, sleep=lambda _s: None)
    assert not delivery.ok
    assert "SECRETsecret" not in delivery.detail, delivery.detail


class _Deep(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b"[" * 60000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_telegram_answer_nested_too_deep_is_a_failed_delivery_not_a_crash(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Deep)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "none.env").write_text("")
    try:
        config = load({"TELEGRAM_BOT_TOKEN": "1:tok", "TELEGRAM_CHAT_ID": "42", "ARGUS_STATE_DIR": str(tmp_path),
                       "ARGUS_TELEGRAM_API_BASE": f"http://127.0.0.1:{server.server_port}"},
                      env_file=tmp_path / "none.env")
        delivery = send_message(config, "disk full", attempts=1, sleep=lambda _s: None)
    finally:
        server.shutdown()
        server.server_close()
    assert not delivery.ok


# --- hostile strings in decisions --------------------------------------------------------------

def test_lone_surrogates_from_the_llm_are_recorded_not_crashed(argus_env, tmp_path, monkeypatch):
    # json.loads (what the SDK uses) turns "\\ud83d" into a lone surrogate that UTF-8 cannot encode.
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path))
    llm_reply = json.loads('{"actions": [{"type": "alert", "message": "disk full \\ud83d"},'
                           '{"type": "log", "observation": "swap high \\ud83d"},'
                           '{"type": "kill_tmux", "target": "nope", "reason": "stuck \\ud83d"}]}')
    results = _act(config, *llm_reply["actions"])
    assert [r.status for r in results] == ["skipped", "success", "rejected"], [r.detail for r in results]
    assert [line["action_taken"] for line in registry(config)] == ["alert:telegram", "log:observation",
                                                                   "kill_tmux:nope"]


# --- state files holding the wrong types -------------------------------------------------------

def test_dedup_entry_with_a_non_numeric_count_does_not_lose_the_alert(argus_env, tmp_path, monkeypatch):
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path))
    [first] = _act(config, {"type": "alert", "message": "disk full on /"})
    key = first.extra["key"]
    for count in ("x", [1], 1e300):
        dedup.dedup_path(config).write_text(json.dumps({"keys": {key: {"last_seen": 0, "count": count}}}))
        [result] = _act(config, {"type": "alert", "message": "disk full on /"})
        assert result.status == "skipped", result.detail  # recorded, not sent: Telegram is not configured


def test_restart_backoff_with_wrong_types_still_restarts(argus_env, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    install_systemctl(bin_dir)
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_ALLOWED_SERVICES="web.service"))
    for entry in ({"attempts": "x"}, {"attempts": [1]}, {"last_attempt": 1e300, "attempts": 1},
                  {"cooldown_until": 1e300}):
        backoff.backoff_path(config).parent.mkdir(parents=True, exist_ok=True)
        backoff.backoff_path(config).write_text(json.dumps({"services": {"web.service": entry}}))
        [result] = _act(config, {"type": "restart_service", "target": "web.service", "reason": "down"})
        assert result.status == "success", (entry, result.detail)
    assert len([c for c in recorded(bin_dir, "systemctl") if c[0] == "restart"]) == 4


def test_outbox_entry_with_wrong_attempts_type_does_not_break_the_flush(tmp_path):
    from argus_cli.notify.outbox import flush_outbox, pending_alerts
    (tmp_path / "none.env").write_text("")
    config = load({"TELEGRAM_BOT_TOKEN": "1:tok", "TELEGRAM_CHAT_ID": "42", "ARGUS_STATE_DIR": str(tmp_path / "state"),
                   "ARGUS_TELEGRAM_API_BASE": "http://127.0.0.1:9"}, env_file=tmp_path / "none.env")
    config.state_dir.mkdir()
    entry = {"id": "a1", "ts": "2026-01-01T00:00:00Z", "text": "disk full", "attempts": [1], "last_error": "x"}
    (config.state_dir / "outbox.jsonl").write_text(json.dumps(entry) + "\n")
    assert flush_outbox(config, time.time(), attempts=1, sleep=lambda _s: None) == (0, 1)
    assert [e["attempts"] for e in pending_alerts(config)] == [1]

"""kill_tmux: kill one tmux session by exact name on the configured server that has it."""

from __future__ import annotations

import shutil
import subprocess

from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, rejected_or_failed
from argus_cli.actions.guardrails import TMUX_NAME, KillTmux
from argus_cli.collectors.tmux import tmux_argv
from argus_cli.redaction import child_env


def _tmux(ctx: ActionContext, socket: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*tmux_argv(socket), *args], capture_output=True, text=True, check=False,
                          timeout=ctx.tuning.command_timeout, env=child_env())


def has_session(ctx: ActionContext, socket: str, name: str) -> bool:
    # "=name" asks tmux for an exact match; a bare name would also match "name-2" as a prefix
    return _tmux(ctx, socket, "has-session", "-t", f"={name}").returncode == 0


def run(ctx: ActionContext, request: KillTmux) -> Outcome:
    name = request.session
    if not TMUX_NAME.match(name):  # re-checked here: this module must be safe on its own
        return _refused(request, f"{name!r} is not a valid session name")
    if "." in name:  # tmux reads "=a.b" as window "=a", pane "b" and can resolve that to another session
        return _refused(request, f"{name!r}: tmux session names never contain '.' (tmux reads it as window.pane)")
    if shutil.which("tmux") is None:
        return _refused(request, "tmux is not installed")
    socket = _find(ctx, request)
    if isinstance(socket, Outcome):
        return socket
    if ctx.dry_run:
        return Outcome("skipped", f"dry run: would kill tmux session {name} on {socket}")
    return _kill(ctx, request, socket)


def _find(ctx: ActionContext, request: KillTmux) -> str | Outcome:
    """The one configured server that has the session, or the outcome saying why not."""
    name = request.session
    try:
        sockets = [s for s in ctx.config["ARGUS_TMUX_SOCKETS"] if has_session(ctx, s, name)]
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _failed(request, f"tmux did not answer: {exc}")
    if not sockets:
        return _refused(request, f"no session named {name} on the configured tmux servers")
    if len(sockets) > 1:
        return _refused(request, f"session {name} exists on several servers ({', '.join(sockets)}); ambiguous")
    return sockets[0]


def _kill(ctx: ActionContext, request: KillTmux, socket: str) -> Outcome:
    try:
        proc = _tmux(ctx, socket, "kill-session", "-t", f"={request.session}")
        still_there = has_session(ctx, socket, request.session)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _failed(request, f"tmux kill-session failed: {exc}")
    if proc.returncode != 0 or still_there:
        return _failed(request, f"tmux kill-session -t ={request.session} on {socket}: "
                                f"exit {proc.returncode} {proc.stderr.strip()[:200]}")
    draft = ProblemDraft("process", "warning", request.reason, f"kill_tmux:{request.session}", "success")
    return Outcome("success", f"killed tmux session {request.session} on {socket}", draft, {"socket": socket})


def _refused(request: KillTmux, why: str) -> Outcome:
    return rejected_or_failed("rejected", why, reason=request.reason, action_taken=f"kill_tmux:{request.session}",
                              problem_type="process")


def _failed(request: KillTmux, why: str) -> Outcome:
    return rejected_or_failed("failure", why, reason=request.reason, action_taken=f"kill_tmux:{request.session}",
                              problem_type="process")

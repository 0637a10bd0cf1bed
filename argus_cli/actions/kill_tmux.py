"""kill_tmux: kill one tmux session by exact name on the configured server that has it."""

from __future__ import annotations

from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, rejected_or_failed
from argus_cli.actions.guardrails import KillTmux
from argus_cli.children import ToolRun
from argus_cli.tmux import installed, run_tmux


def _tmux(ctx: ActionContext, socket: str, *args: str) -> ToolRun:
    return run_tmux(ctx.config, socket, *args, timeout=ctx.tuning.command_timeout)


def _probe_session(ctx: ActionContext, socket: str, name: str) -> ToolRun:
    """``tmux has-session``: exit 0 when the server has it; ``error`` set when tmux did not answer."""
    # "=name" asks tmux for an exact match; a bare name would also match "name-2" as a prefix
    return _tmux(ctx, socket, "has-session", "-t", f"={name}")


def run(ctx: ActionContext, request: KillTmux) -> Outcome:
    name = request.session  # a KillTmux exists only with a name that matches guardrails.TMUX_NAME
    if "." in name:  # tmux reads "=a.b" as window "=a", pane "b" and can resolve that to another session
        return _refused(request, f"{name!r}: tmux session names never contain '.' (tmux reads it as window.pane)")
    if not installed(ctx.config):
        return _refused(request, "tmux is not installed")
    socket = _find(ctx, request)
    if isinstance(socket, Outcome):
        return socket
    if ctx.dry_run:
        return Outcome("skipped", f"dry run: would kill tmux session {name} on {socket}", would=True)
    return _kill(ctx, request, socket)


def _find(ctx: ActionContext, request: KillTmux) -> str | Outcome:
    """The one configured server that has the session, or the outcome saying why not."""
    name = request.session
    sockets = []
    for socket in ctx.config.tmux_sockets:
        run = _probe_session(ctx, socket, name)
        if run.error:
            return _failed(request, f"tmux did not answer: {run.error}")
        if run.returncode == 0:
            sockets.append(socket)
    if not sockets:
        return _refused(request, f"no session named {name} on the configured tmux servers")
    if len(sockets) > 1:
        return _refused(request, f"session {name} exists on several servers ({', '.join(sockets)}); ambiguous")
    return sockets[0]


def _kill(ctx: ActionContext, request: KillTmux, socket: str) -> Outcome:
    run = _tmux(ctx, socket, "kill-session", "-t", f"={request.session}")
    if run.error:
        return _failed(request, f"tmux kill-session failed: {run.error}")
    probe = _probe_session(ctx, socket, request.session)  # success means gone, not just exit 0
    if probe.error:
        return _failed(request, f"tmux kill-session failed: {probe.error}")
    if run.returncode != 0 or probe.returncode == 0:
        return _failed(request, f"tmux kill-session -t ={request.session} on {socket}: "
                                f"exit {run.returncode} {run.stderr.strip()[:200]}")
    draft = ProblemDraft("process", "warning", request.reason, f"kill_tmux:{request.session}", "success")
    return Outcome("success", f"killed tmux session {request.session} on {socket}", draft, {"socket": socket})


def _refused(request: KillTmux, why: str) -> Outcome:
    return rejected_or_failed("rejected", why, reason=request.reason, action_taken=f"kill_tmux:{request.session}",
                              problem_type="process")


def _failed(request: KillTmux, why: str) -> Outcome:
    return rejected_or_failed("failure", why, reason=request.reason, action_taken=f"kill_tmux:{request.session}",
                              problem_type="process")

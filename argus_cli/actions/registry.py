"""The one table of action types: each kind bound to its request type and its runner.

``model.ACTIONS`` holds what the decider and the records see of a kind (name, description,
problem type, text field, whether it changes the host); this table adds what only the actions
layer has. Adding an action is one module (its runner; its request type in guardrails.py) plus
one entry in each of the two, and tests/test_actions_guardrails.py fails until both agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from argus_cli.actions import alert, clean_disk, kill_pid, kill_tmux, log, restart_service
from argus_cli.actions.context import ActionContext, Outcome
from argus_cli.actions.guardrails import Alert, CleanDisk, KillPid, KillTmux, Log, Request, RestartService
from argus_cli.config import Config
from argus_cli.model import ACTIONS, ActionKind


@dataclass(frozen=True)
class ActionSpec:
    kind: ActionKind
    request: type[Request]  # validated when constructed; its ``parse`` builds it from the decider's dict
    run: Callable[[ActionContext, Any], Outcome]  # gets a request of ``request``'s type

    @property
    def name(self) -> str:
        return self.kind.name

    def parse(self, raw: Mapping[str, object], config: Config) -> Request:
        """The checked request, or guardrails' _Invalid (a ValueError) saying which field failed."""
        return self.request.parse(raw, config)


def _spec(name: str, request: type[Request], run: Callable[[ActionContext, Any], Outcome]) -> ActionSpec:
    return ActionSpec(ACTIONS[name], request, run)


SPECS: dict[str, ActionSpec] = {spec.name: spec for spec in (
    _spec("restart_service", RestartService, restart_service.run),
    _spec("kill_pid", KillPid, kill_pid.run),
    _spec("kill_tmux", KillTmux, kill_tmux.run),
    _spec("clean_disk", CleanDisk, clean_disk.run),
    _spec("alert", Alert, alert.run),
    _spec("log", Log, log.run),
)}

"""Eval cases as data: ``<dir>/<name>/case.json``, one situation and what a good decider does.

A case holds a snapshot (as ``argus collect --json`` prints it), the settings it is judged under
(over Argus's defaults, never the host's env file), optionally the open incidents and the past
cycles the decider is shown, and the expectation. Loading checks every case fully, so a typo in
an expectation is an error naming the file, not a case that can never fail.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from argus_cli.config import VARS_BY_NAME
from argus_cli.model import ACTION_TYPES, ACTIONS
from argus_cli.snapshot import Snapshot, SnapshotShapeError, parse_snapshot

TAGS = ("detect", "localise", "mitigate", "control", "injection")
CASE_FILE = "case.json"
MAX_CASE_BYTES = 1 << 20
# What a case may not set: where Argus keeps its state and what it talks to are the eval's to choose.
NOT_SETTABLE = frozenset({"ARGUS_STATE_DIR", "ARGUS_PROBLEMS_FILE", "ARGUS_LOG_FILE", "ARGUS_PROMPT_FILE",
                          "ARGUS_PROMETHEUS_TEXTFILE", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ARGUS_MODEL",
                          "TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID"})


class CaseError(ValueError):
    """A case that cannot be judged; the message names its file."""


class Pattern(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An action as an expectation names it: its type, and its subject and target when given."""

    type: str
    subject: str | None = None
    target: str | None = None

    def matches(self, kind: str, subject: str | None, target: str | None) -> bool:
        return (self.type == kind and self.subject in (None, subject)
                and self.target in (None, target))

    def __str__(self) -> str:
        named = [self.type, *(f"{k}={v}" for k, v in (("subject", self.subject), ("target", self.target)) if v)]
        return " ".join(named)


class Expect(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    alert: tuple[str, ...] = ()  # subjects that must each get an alert
    log: tuple[str, ...] = ()  # subjects that must each get at least a log (an alert counts)
    act: tuple[Pattern, ...] = ()  # host-changing actions that must be proposed and pass the guardrails
    may: tuple[Pattern, ...] = ()  # acceptable extras: neither required nor false alarms
    forbid: tuple[Pattern, ...] = ()  # never to be proposed
    quiet: bool = False  # a control: any alert or host-changing action is a false alarm


class _CaseFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    description: str
    tags: tuple[str, ...]
    snapshot: dict[str, Any]
    expect: Expect
    must_pass: bool = False
    settings: dict[str, str] = {}
    incidents: tuple[dict[str, Any], ...] = ()
    history: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    description: str
    tags: tuple[str, ...]
    must_pass: bool
    settings: dict[str, str]
    snapshot: Snapshot
    incidents: tuple[dict[str, Any], ...]
    history: tuple[dict[str, Any], ...]
    expect: Expect


_DECODER = msgspec.json.Decoder(_CaseFile)


def load_case(path: Path) -> Case:
    """The case in ``path`` (a case.json), fully checked; CaseError naming the file otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO named case.json must not hang the eval
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise CaseError(f"{path}: not a regular file")
            data = os.read(fd, MAX_CASE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise CaseError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_CASE_BYTES:
        raise CaseError(f"{path}: over {MAX_CASE_BYTES} bytes")
    try:
        raw = _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise CaseError(f"{path}: {exc}") from None
    except RecursionError:
        raise CaseError(f"{path}: nested too deep") from None
    try:
        snapshot = parse_snapshot(raw.snapshot)
    except SnapshotShapeError as exc:
        raise CaseError(f"{path}: snapshot: {exc}") from None
    _check(path, raw)
    return Case(path.parent.name, path, raw.description, raw.tags, raw.must_pass, dict(raw.settings), snapshot,
                raw.incidents, raw.history, raw.expect)


def _check(path: Path, raw: _CaseFile) -> None:
    problems = [f"unknown tag {tag!r} (tags: {', '.join(TAGS)})" for tag in raw.tags if tag not in TAGS]
    if len(set(raw.tags)) != len(raw.tags):
        problems.append("a tag is listed twice")
    for name in raw.settings:
        if name not in VARS_BY_NAME:
            problems.append(f"settings: {name} is not an Argus setting")
        elif name in NOT_SETTABLE:
            problems.append(f"settings: {name} is the eval's to set, not a case's")
    expect = raw.expect
    for group, patterns in (("act", expect.act), ("may", expect.may), ("forbid", expect.forbid)):
        for pattern in patterns:
            if pattern.type not in ACTION_TYPES:
                problems.append(f"expect.{group}: unknown action type {pattern.type!r}")
            elif pattern.target is not None and pattern.type not in ("restart_service", "kill_pid", "kill_tmux"):
                problems.append(f"expect.{group}: {pattern.type} takes no target, so {pattern} could never match")
            elif group == "act" and not ACTIONS[pattern.type].changes_host:
                problems.append(f"expect.act: {pattern.type} changes nothing; name its subject in expect.alert "
                                "or expect.log")
    if expect.quiet and (expect.alert or expect.act):
        problems.append("expect: a quiet case (a control) cannot require an alert or an action")
    if problems:
        raise CaseError(f"{path}: " + "; ".join(problems))


def find_cases(directory: Path) -> Iterator[Path]:
    """Every ``<name>/case.json`` under ``directory``, by name."""
    if not directory.is_dir():
        raise CaseError(f"{directory}: no such directory of cases")
    yield from sorted(directory.glob(f"*/{CASE_FILE}"))


def load_cases(directory: Path, tags: tuple[str, ...] = ()) -> list[Case]:
    """The cases under ``directory`` (those with one of ``tags``, when given); the first unusable
    case stops the load: an eval that silently skips a case would score a smaller test."""
    unknown = [tag for tag in tags if tag not in TAGS]
    if unknown:
        raise CaseError(f"unknown tag {unknown[0]!r} (tags: {', '.join(TAGS)})")
    cases = [load_case(path) for path in find_cases(directory)]
    if not cases:
        raise CaseError(f"{directory}: no <name>/{CASE_FILE} in it")
    return [case for case in cases if not tags or set(tags) & set(case.tags)]


def default_directory() -> Path:
    """The cases shipped with Argus (inside the package, so an installed argus has them)."""
    return Path(__file__).resolve().parent / "cases"

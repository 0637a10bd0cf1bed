"""Read a decision JSON document (a file or stdin) for ``argus act``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from argus_cli.model import DECIDERS, Decision, bounded
from argus_cli.snapshot import Snapshot, SnapshotShapeError, parse_snapshot


class DecisionFileError(ValueError):
    """The decision document cannot be used at all; the message says why."""


def read_decision(source: str) -> tuple[Decision, Snapshot | None]:
    """The decision in ``source`` (a path, or ``-`` for stdin) and the snapshot it embeds, if any."""
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise DecisionFileError(f"cannot read decision file {source}: {exc.strerror}") from None
    try:
        doc = bounded(orjson.loads(data))
    except orjson.JSONDecodeError as exc:
        raise DecisionFileError(f"decision file {source} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("actions"), list):
        raise DecisionFileError(f"decision file {source} must be a JSON object with an \"actions\" list")
    return _decision(doc), _embedded_snapshot(doc.get("snapshot"), source)


def _embedded_snapshot(value: Any, source: str) -> Snapshot | None:
    if value is None:
        return None
    try:
        return parse_snapshot(value)
    except SnapshotShapeError as exc:
        raise DecisionFileError(f"decision file {source} embeds an unusable snapshot: {exc}") from None


def _decision(doc: dict[str, Any]) -> Decision:
    observations = doc.get("observations")
    decider = doc.get("decider")
    return Decision(
        assessment=doc["assessment"] if isinstance(doc.get("assessment"), str) else "",
        actions=doc["actions"],
        observations=[o for o in observations if isinstance(o, str)] if isinstance(observations, list) else [],
        decider=decider if decider in DECIDERS else "rules",
    )

"""``llm.jsonl``: every LLM exchange on record (ARCHITECTURE.md §4).

last_response.json keeps only the latest reply; this file keeps one line per Messages API call,
failed ones too: what the model was shown (the user message, capped, and its digest; the system
prompt only by digest, it is the prompt file the operator already has), what it answered, how
long it took and what it cost. A dry run or `argus decide` spent tokens as well: its line says
``"dry_run": true``.

Every string is redacted with the configured secrets before it is written: the user message
quotes the host (command lines, unit names), where a key can turn up, and so can an error. The
file is private (0600, the prompts describe the host), appended through ``append_jsonl``
(``O_NOFOLLOW``, one line per write) and rotated by size with the other records (by the cycle). Writing never fails the
caller: the exchange has already happened; a failure is said once on stderr.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from argus_cli.config import Config
from argus_cli.decide import schema
from argus_cli.model import iso_z
from argus_cli.redaction import redact
from argus_cli.state.files import (
    OPTIONAL_NUMBER,
    OPTIONAL_STR,
    append_jsonl,
    check_fields,
    dumps,
)
from argus_cli.state.layout import LLM_EXCHANGES
from argus_cli.state.records import newest_valid
from argus_cli.text import one_line

if TYPE_CHECKING:
    from argus_cli.decide.llm import LlmOutcome, LlmRequest

# Per line: what is kept of the user message and of the answer. Well under the readers' 1 MiB
# line bound even when JSON escaping inflates the text; the digest still names the whole message.
TEXT_CAP = 64 * 1024
ANSWER_CAP = 64 * 1024
MODE = 0o600

_REPORTED: set[Path] = set()  # one stderr line per file and process, however many calls fail to be recorded


def record(config: Config, request: LlmRequest, outcome: LlmOutcome, kind: str, *, now: float,
           duration_ms: int, dry_run: bool) -> None:
    """Append the exchange (``kind``: ok, error, refused, unusable, interrupted); never raises an
    ``Exception``."""
    from argus_cli.state.directory import StateDirError, check_state_dir

    path = config.state_dir / LLM_EXCHANGES
    try:
        # `argus decide` records too and, unlike a cycle, has not vetted the state dir: the
        # host's description never goes into a directory another user controls.
        check_state_dir(config.state_dir, write=False)
        line = exchange_line(config, request, outcome, kind, now=now, duration_ms=duration_ms, dry_run=dry_run)
        _append(path, line)
    except StateDirError as exc:
        _report(path, str(exc))
    except OSError as exc:
        _report(path, exc.strerror or str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug here must not cost the decision either
        _report(path, redact(f"{type(exc).__name__}: {exc}", config.secrets())[:300])


def exchange_line(config: Config, request: LlmRequest, outcome: LlmOutcome, kind: str, *, now: float,
                  duration_ms: int, dry_run: bool) -> dict[str, object]:
    """The llm.jsonl line of one call, redacted and capped."""
    secrets = config.secrets()
    user = _user_text(request)
    raw = outcome.raw or {}
    error = one_line(outcome.error, 1000) if outcome.error else None
    line: dict[str, object] = {
        "ts": iso_z(now), "dry_run": dry_run, "model": raw.get("model") or request["model"],
        "duration_ms": duration_ms, "outcome": kind, "status_code": outcome.status_code,
        "stop_reason": raw.get("stop_reason"), "error": _redacted(error, secrets),
        "usage": outcome.usage, "system_sha256": _sha256(request["system"]),
        "user_sha256": _sha256(user), "user_bytes": len(user.encode("utf-8", "surrogatepass")),
    }
    # Redact before cutting: a secret straddling the cut would leave its first half behind.
    line["user"], line["truncated"] = _cap(redact(user, secrets), TEXT_CAP)
    line["answer"], line["answer_truncated"] = _capped_answer(_redacted(answer_of(raw, kind), secrets))
    return line


def answer_of(raw: Mapping[str, object], kind: str) -> object:
    """What the model answered: the ``decide`` tool's input, else its text; None when no reply came."""
    if kind == "error":
        return None
    content = raw.get("content")
    blocks = [b for b in (content if isinstance(content, list) else []) if isinstance(b, dict)]
    for block in blocks:
        if block.get("type") == "tool_use" and block.get("name") == schema.TOOL_NAME:
            return block.get("input")
    text = "".join(str(b.get("text") or "") for b in blocks if b.get("type") == "text")
    return text or None


def valid_line(value: object) -> None:
    """The shape `argus last --llm` relies on; other lines (a hand edit) are passed over."""
    check_fields(value, {"ts": (str,), "outcome": (str,), "model": OPTIONAL_STR, "error": OPTIONAL_STR,
                         "duration_ms": OPTIONAL_NUMBER, "usage": (dict, type(None)), "user": OPTIONAL_STR})


def last_exchange(config: Config, look_back: int = 20) -> dict[str, object] | None:
    """The newest well-formed llm.jsonl line, or None."""
    return newest_valid(config.state_dir / LLM_EXCHANGES, valid_line, look_back)


def _append(path: Path, line: dict[str, object]) -> None:
    # Rotated by the cycle with the other records (runtime/records.rotate_records), never here:
    # `argus decide` writes too, and two processes renaming the same files would race.
    append_jsonl(path, line, mode=MODE)


def _report(path: Path, reason: str) -> None:
    logging.getLogger("argus.llm").warning("cannot record the LLM exchange in %s: %s", path, reason)
    if path not in _REPORTED:
        _REPORTED.add(path)
        print(f"argus: cannot record the LLM exchange in {path}: {reason}", file=sys.stderr)


def _user_text(request: LlmRequest) -> str:
    messages = request["messages"]
    content = messages[0]["content"] if messages else ""
    return content if isinstance(content, str) else dumps(content).decode()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _cap(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` UTF-8 bytes on a character boundary; and whether it was cut."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "ignore"), True


def _capped_answer(answer: object) -> tuple[object, bool]:
    """A big answer (a hostile reply, bounded but still up to megabytes) is kept as cut JSON text."""
    if isinstance(answer, str):
        return _cap(answer, ANSWER_CAP)
    data = dumps(answer)
    if len(data) <= ANSWER_CAP:
        return answer, False
    return data[:ANSWER_CAP].decode("utf-8", "ignore"), True


def _redacted(value: object, secrets: tuple[str, ...]) -> object:
    """``value`` with every string in it (keys too) redacted."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {_redacted(str(k), secrets): _redacted(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, secrets) for v in value]
    return value

"""Keeping secrets out of everything Argus writes, prints or starts.

One place for it: logs, state files, error details and notes all go through ``redact``, and
every child process (systemctl, tmux, bd, relay) gets ``child_env()``, which leaves the secret
variables out: none of those tools needs an API key or a bot token.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from argus_cli.config import SECRET_NAMES

REDACTED = "<redacted>"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced: raw, URL-quoted, or escaped the way repr() and JSON
    quote it (exception messages quote URLs in those forms)."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret), repr(secret)[1:-1], json.dumps(secret)[1:-1]}:
            text = text.replace(form, REDACTED)
    return text


# Run by hand inside tmux, Argus inherits $TMUX, and a tmux child would then talk to *that*
# server whatever socket it was given; Argus names its servers explicitly instead.
_NOT_INHERITED = frozenset({"TMUX", "TMUX_PANE"})


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: ours, less the secret variables and tmux's pointers."""
    source = os.environ if base is None else base
    return {name: value for name, value in source.items()
            if name not in SECRET_NAMES and name not in _NOT_INHERITED}

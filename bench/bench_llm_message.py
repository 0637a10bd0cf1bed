"""How much host-controlled text the LLM is shown: the user message of the real request
(``llm.build_request``, a Config from ``config.load`` on a clean environment) for each snapshot.

Snapshots: tests/scenarios/*.json, the eval cases (``argus_cli/evals/cases/*/case.json``, their
``snapshot``; ``--cases DIR`` reads them from elsewhere), one hostile snapshot per string of
tests/helpers_host_text.py (the string in every host text field) and, with ``--live``, this host's.

Per snapshot: the user message's bytes; the host strings in its ``<snapshot>`` block (the fields
``decide/host_text.py`` gives an origin), their bytes (UTF-8, as decoded), the longest one, and
how many hold a character outside ``[A-Za-z0-9 ._:/@+=,-]`` ("unusual": the ``…`` of a cut string
and the ``?`` of a control character count too) and how many hold one that is not printable
(a newline, an escape, a bidi override: "unprint"). Nothing is sent anywhere.

Usage: python bench/bench_llm_message.py [--cases DIR] [--live]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argus_cli.config import Config, load
from argus_cli.decide.host_text import TEXT_FIELDS
from argus_cli.decide.llm import build_request
from argus_cli.snapshot import Snapshot, parse_snapshot

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers_host_text import HOSTILE, hostile_snapshot

REPO = Path(__file__).resolve().parent.parent

CONSERVATIVE = re.compile(r"[A-Za-z0-9 ._:/@+=,-]*\Z")
HOST_FIELDS = frozenset(path for path, field in TEXT_FIELDS.items() if field.origin is not None)
_BLOCK = re.compile(r"<snapshot>\n(.*?)\n</snapshot>", re.DOTALL)


@dataclass
class Row:
    label: str
    message_bytes: int
    strings: int
    host_bytes: int
    longest: int
    longest_field: str
    unusual: int
    unprintable: int

    def line(self, width: int) -> str:
        return (f"{self.label:<{width}} {self.message_bytes:>8} {self.strings:>7} {self.host_bytes:>8} "
                f"{self.longest:>7} {self.unusual:>7} {self.unprintable:>7}  {self.longest_field}")


HEADER = ("snapshot", f"{'msg B':>8} {'strings':>7} {'host B':>8} {'longest':>7} {'unusual':>7} {'unprint':>7}  "
                      "longest field")


def clean_config(tmp: Path) -> Config:
    """The Config of an environment without Argus settings: state under ``tmp``, no env file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGUS_", "ANTHROPIC_", "TELEGRAM_"))}
    (tmp / "empty.env").write_text("")
    env.update({"ARGUS_ENV_FILE": str(tmp / "empty.env"), "ARGUS_STATE_DIR": str(tmp / "state"),
                "ANTHROPIC_API_KEY": "sk-bench-not-used"})
    return load(env)


def snapshots(cases: Path, live: Config | None) -> Iterator[tuple[str, Snapshot]]:
    for path in sorted((REPO / "tests" / "scenarios").glob("*.json")):
        yield f"scenario {path.stem}", parse_snapshot(json.loads(path.read_text())["snapshot"])
    for path in sorted(cases.glob("*/case.json")):
        yield f"eval {path.parent.name}", parse_snapshot(json.loads(path.read_text())["snapshot"])
    for kind, text in HOSTILE.items():
        yield f"hostile {kind}", parse_snapshot(hostile_snapshot(text))
    if live is not None:
        from argus_cli.collectors import take_snapshot

        yield "live (this host)", take_snapshot(live)


def host_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, text) of every host string in a decoded ``<snapshot>`` block."""
    if isinstance(value, str) and path in HOST_FIELDS:
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from host_strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from host_strings(item, f"{path}[]")


def measure(label: str, config: Config, snap: Snapshot) -> Row:
    request = build_request(config, snap, [], {"consecutive_failures": 0}, hostname="bench-host")
    user = request["messages"][0]["content"]
    assert isinstance(user, str)
    block = _BLOCK.search(user)
    found = list(host_strings(json.loads(block.group(1)))) if block else []
    longest = max(found, key=lambda f: len(f[1]), default=("-", ""))
    return Row(label, len(user.encode()), len(found), sum(len(t.encode()) for _, t in found),
               len(longest[1]), longest[0], sum(not CONSERVATIVE.match(t) for _, t in found),
               sum(not t.isprintable() for _, t in found))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=REPO / "argus_cli" / "evals" / "cases",
                        help="directory of eval cases (DIR/*/case.json)")
    parser.add_argument("--live", action="store_true", help="add a snapshot of this host")
    args = parser.parse_args()
    config = clean_config(Path(tempfile.mkdtemp(prefix="argus-bench-")))
    rows = [measure(label, config, snap) for label, snap in snapshots(args.cases, config if args.live else None)]
    width = max(len(row.label) for row in rows)
    print(f"{HEADER[0]:<{width}} {HEADER[1]}")
    for row in rows:
        print(row.line(width))
    top = max(rows, key=lambda r: r.longest)
    print(Row("TOTAL", sum(r.message_bytes for r in rows), sum(r.strings for r in rows),
              sum(r.host_bytes for r in rows), top.longest, top.longest_field,
              sum(r.unusual for r in rows), sum(r.unprintable for r in rows)).line(width))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

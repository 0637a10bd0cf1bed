"""Memory-hog enrichment for alert and log descriptions (the exact form pattern analysis reads).

``hog_process=NAME`` carries the hog's full name: the snapshot's name is psutil's, which on
Linux extends the kernel's 15-byte comm with argv[0]'s basename whenever the comm is its
beginning (``openclaw-gateway``, not ``openclaw-gatewa``). That is the name every line Argus
wrote has carried, so no second key (``hog_name=``) is added: it would repeat the same value,
and it could not mark a name complete either, since the snapshot holds no command line to
tell a 15-character name from a cut one. Only the seed's lines (``ps -o comm``) hold cut names;
reports/patterns_hogs.py marks every 15-byte name as possibly cut.

Every value is a host string made safe for the ``key=value,key=value`` form: printable, without
``,;=`` or whitespace (``$(rm -rf /)`` becomes ``$(rm_-rf_/)``), and bounded.
"""

from __future__ import annotations

import re

from argus_cli.config import Config
from argus_cli.snapshot import Snapshot, TopProcess
from argus_cli.text import truncate

_UNSAFE = re.compile(r"[\s,;=]")  # would break the key=value,... form
VALUE_MAX = 64  # as long as the collector keeps a process name (collectors/processes.py)


def memory_percent(snapshot: Snapshot | None) -> float | None:
    """The highest memory pressure the snapshot shows: host memory or the cgroup limit."""
    if snapshot is None:
        return None
    numbers = [float(section.percent) for section in (snapshot.memory, snapshot.cgroup_memory)
               if section is not None and section.percent is not None]
    return max(numbers) if numbers else None


def hog_suffix(snapshot: Snapshot | None, config: Config) -> str:
    """``; hog_process=...`` when memory is at or above ARGUS_MEMORY_CRIT_PCT, else ``""``."""
    percent = memory_percent(snapshot)
    hog = snapshot.memory_hog if snapshot is not None else None
    if percent is None or percent < config.memory_crit_pct or hog is None:
        return ""
    return _hog_fields(hog)


def field_value(text: str) -> str:
    """``text`` as one value of the enrichment: printable (``truncate``), no separator, bounded."""
    return _UNSAFE.sub("_", truncate(text, VALUE_MAX)) or "?"


def _hog_fields(hog: TopProcess) -> str:
    name, pid, rss_kb, mem_percent, runtime = hog.name, hog.pid, hog.rss_kb, hog.mem_percent, hog.runtime
    if name is None or pid is None or rss_kb is None or mem_percent is None or runtime is None:
        return ""  # a partial hog entry: no enrichment rather than a wrong one
    return (f"; hog_process={field_value(name)},hog_pid={pid},hog_rss_kb={int(rss_kb)},"
            f"hog_mem_pct={float(mem_percent):.1f},hog_runtime={field_value(runtime)},"
            f"hog_kill_candidate={'yes' if hog.kill_candidate else 'no'}")

"""An independent reference for the pattern detectors (reports/patterns*.py): plain loops over
records loaded with the stdlib, sharing no code with argus_cli, as helpers_reports does for the
seed's. Without metrics.jsonl, so the disk finding is the unmeasured fallback."""

from __future__ import annotations

import hashlib
import re
import statistics
from collections import Counter, defaultdict
from typing import Any

from helpers_reports import in_window, to_utc


def standing_hours(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The hours of day with >= 3 problems, on >= 2 UTC days, and >= 2x the median of the other
    hours that had a problem: {hour: {"count", "days", "baseline"}}."""
    counts: Counter[str] = Counter()
    days: defaultdict[str, set[str]] = defaultdict(set)
    for record in records:
        moment = to_utc(record["ts"])
        counts[moment.strftime("%H")] += 1
        days[moment.strftime("%H")].add(moment.strftime("%Y-%m-%d"))
    found = {}
    for hour, count in counts.items():
        others = [n for h, n in counts.items() if h != hour and n > 0]
        base = statistics.median(others) if others else 0
        if count >= 3 and len(days[hour]) >= 2 and count >= 2 * base:
            found[hour] = {"count": count, "days": len(days[hour]), "baseline": base}
    return dict(sorted(found.items()))


def id_slug(name: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:40]
    if clean == name:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{clean}-{digest}" if clean else digest


def expected_findings(records: list[dict[str, Any]], now: float, days: int) -> list[tuple[str, str, str]]:
    """(id, type, severity) of each finding the default analysis gives, in report order."""
    chosen = in_window(records, now, days)
    out = []
    restarts = Counter(to_utc(r["ts"]).strftime("%Y-%m-%d") for r in chosen
                       if r["type"] == "service" and r["action_taken"].startswith("restart_service"))
    out += [(f"service-restarts-{day}", "service_restart_spike", "warning")
            for day in sorted(restarts) if restarts[day] >= 3]
    disk = [r for r in chosen if r["type"] == "disk"]
    if len(disk) >= 3 and len({to_utc(r["ts"]).date() for r in disk}) >= 2:
        out.append(("disk-pressure-trend", "disk_pressure_trend", "info"))  # nothing measured
    hogs: Counter[str] = Counter()
    for r in chosen:
        found = re.findall(r"hog_process=([^,; ]+)", r["description"]) if r["type"] == "memory" else []
        if found:
            hogs[found[0]] += 1
    out += [(f"memory-hog-{id_slug(name)}", "memory_hog_recurring", "warning")
            for name in sorted(hogs) if hogs[name] >= 3]
    if standing_hours(chosen):
        out.append(("time-correlation", "time_correlation", "info"))
    return out

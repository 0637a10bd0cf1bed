"""Which UTC hour a registry timestamp falls in, and which report windows hold it.

A window is ``[now - days*86400, +inf)``: a problem stamped exactly on the edge counts (the
original scripts kept ``epoch >= cutoff`` too), and a problem stamped in the future counts, so a
host with a skewed clock does not silently lose records.

Registry lines almost always carry the canonical ``YYYY-MM-DDTHH:MM:SSZ`` form Argus writes.
Those are classified by string slicing and a per-hour cache (one ``datetime`` per distinct hour,
not per line); only the hour that straddles a cutoff needs the seconds, and only other forms
(offsets, fractions, a missing ``Z``) go through ``datetime.fromisoformat`` and, failing that,
``dateutil.parser.isoparse`` (which also takes e.g. ``24:00:00``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

_CACHE_LIMIT = 200_000  # distinct hours; a year is 8,760, so only garbage ever reaches this
# ":MM:SSZ" tails a canonical timestamp may end with (":60" for a leap second). A set lookup,
# not a regex: on bench/bench_reports.py's 1M lines the regex made `stats` 8.9% slower
# (interleaved runs), and `patterns analyze` measured 3.12x the parse floor with it, past its 3x
# bar, against 2.68x with the set.
CANONICAL_TAILS = frozenset(f":{m:02d}:{s:02d}Z" for m in range(60) for s in range(61))


class Windows:
    """Classifies timestamps against several cutoffs at once: bit i of a mask = inside window i.

    ``uniform`` maps an hour prefix to its mask when the whole hour is on one side of every
    cutoff; the scan loop reads it directly and calls ``classify`` only on a miss.
    """

    def __init__(self, cutoffs: Sequence[float]) -> None:
        self.cutoffs = tuple(cutoffs)
        self.uniform: dict[str, int] = {}
        self._straddling: dict[str, float] = {}  # hour prefix -> its start, for the edge hours

    def mask_of(self, epoch: float) -> int:
        return sum(1 << i for i, cutoff in enumerate(self.cutoffs) if epoch >= cutoff)

    def classify(self, ts: str) -> tuple[str | None, int]:
        """(UTC hour ``YYYY-MM-DDTHH``, mask); (None, 0) when ``ts`` is not a timestamp."""
        if len(ts) == 20 and ts[13:] in CANONICAL_TAILS:
            prefix = ts[:13]
            start = self._straddling.get(prefix)
            if start is None and prefix not in self.uniform:
                start = self._learn_hour(prefix)
            if prefix in self.uniform:
                return prefix, self.uniform[prefix]
            if start is not None:
                return prefix, self.mask_of(start + int(ts[14:16]) * 60 + int(ts[17:19]))
        moment = parse_timestamp(ts)
        if moment is None:
            return None, 0
        return moment.strftime("%Y-%m-%dT%H"), self.mask_of(moment.timestamp())

    def _learn_hour(self, prefix: str) -> float | None:
        """Cache the hour's mask when it is uniform; return its start when it straddles a cutoff."""
        if len(self.uniform) + len(self._straddling) >= _CACHE_LIMIT:
            self.uniform.clear()
            self._straddling.clear()
        start = _hour_start(prefix)
        if start is None:
            return None
        first, last = self.mask_of(start), self.mask_of(start + 3600)  # 3600: a leap second
        if first == last:
            self.uniform[prefix] = first
            return None
        self._straddling[prefix] = start
        return start


def _hour_start(prefix: str) -> float | None:
    """Epoch of ``YYYY-MM-DDTHH``, or None when it is not a real date and hour."""
    if prefix[4] != "-" or prefix[7] != "-" or prefix[10] != "T" or not prefix[11:13].isdigit():
        return None
    try:
        return datetime.fromisoformat(prefix + ":00:00+00:00").timestamp()
    except ValueError:
        return None


def parse_timestamp(ts: str) -> datetime | None:
    """An aware UTC datetime for any ISO-8601 form; naive times are taken as UTC."""
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        moment = _dateutil_parse(ts)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, and the like
        return None


def _dateutil_parse(ts: str) -> datetime | None:
    from dateutil.parser import isoparse  # only for the rare forms the stdlib refuses
    try:
        parsed: datetime = isoparse(ts)  # dateutil ships no types
        return parsed
    except (ValueError, OverflowError):
        return None

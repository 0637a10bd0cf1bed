"""``argus report --html``: one self-contained page drawn from an ``Overview`` (reports/overview.py).

No script, no stylesheet or font from elsewhere, no image but inline SVG: the page opens from a
mail attachment or a file on a phone, offline, and its Content-Security-Policy forbids any
request or script, so even a host string that got past escaping could run nothing. Every string
from the host (subjects, paths, details, the host name) goes through html.escape. Each section
says the window it covers and, when it has no data, says so and why: an empty chart must never
look like a healthy host.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from argus_cli.model import iso_z
from argus_cli.reports.markup import Safe, bars_of, counted, e, empty, legend, section, span, table, when
from argus_cli.reports.overview import BUCKETS, GAP, MetricsHistory, Overview, Series
from argus_cli.reports.svg import Bar, Line, bar_chart, line_chart
from argus_cli.reports.trends import DAY, DiskTrend

SEVERITIES = {"critical": "#c62828", "warning": "#e69500", "info": "#1e88e5"}
VERDICTS = {"ok": "#2e7d32", "warning": "#e69500", "critical": "#c62828", "blind": "#7b1fa2",
            "failed": "#212121", "skipped": "#bdbdbd", "unknown": "#8a8a8a"}
CALLS = {"answered": "#1e88e5", "failed": "#c62828"}
TOKENS = {"input": "#5c6bc0", "output": "#26a69a"}
DISK_COLORS = ("#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#6d4c41", "#546e7a")
HORIZON = 3650.0  # days: a disk full later than this is not filling
CYCLES_A_DAY = 288  # the five-minute timer's
CSS = """*{box-sizing:border-box}
body{margin:0 auto;max-width:980px;padding:12px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1d1d1f;background:#fff;overflow-wrap:break-word}
h1{font-size:1.35em;margin:.2em 0}h2{font-size:1.15em;margin:1.6em 0 .2em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:1em 0 .2em}p{margin:.4em 0}
.window{color:#555;font-size:.9em;margin:0 0 .5em}
.empty{background:#fff4e5;border-left:4px solid #e69500;padding:.4em .6em}
.chart{display:block;width:100%;max-width:720px;height:auto;margin:.3em 0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.9em;width:100%}
th,td{text-align:left;padding:.2em .6em .2em 0;border-bottom:1px solid #eee;vertical-align:top}
th{white-space:nowrap}
.n{text-align:right;font-variant-numeric:tabular-nums}
ul.legend{list-style:none;padding:0;margin:.2em 0;display:flex;flex-wrap:wrap;gap:.2em 1.1em;font-size:.9em}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border-radius:2px}
.dashed{display:inline-block;width:1.6em;border-top:2px dashed #555;margin-right:.3em;vertical-align:middle}
@media (max-width:640px){td{overflow-wrap:anywhere}
table.cards thead{display:none}
table.cards tr{display:block;padding:.35em 0;border-bottom:1px solid #ddd}
table.cards td{display:inline-block;border:0;padding:0 1em 0 0;text-align:left}
table.cards td:first-child{display:block;font-weight:600}
table.cards td[data-label]::before{content:attr(data-label) ": ";color:#666}
table.cards td.zero{display:none}}
.badge{display:inline-block;font-weight:700;padding:.1em .6em;border-radius:4px;color:#fff;background:#8a8a8a}
"""


class Page:
    """The page's sections, each from the overview's data."""

    def __init__(self, view: Overview) -> None:
        self.view = view
        self.days = view.stats.days()
        self.window = f"{view.window_days} day{'s' if view.window_days != 1 else ''} to {iso_z(view.now)[:10]}"

    def render(self) -> str:
        view = self.view
        parts = [self.health(), self.open_incidents(), self.problems(), self.subjects(), self.actions(),
                 self.trends(), self.llm(), self.not_seen()]
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Argus report: {e(view.host)}</title><style>{CSS}</style></head><body>"
            f"<h1>Argus report: {e(view.host)}</h1>"
            f'<p class="window">generated {e(when(view.now))} · window: {e(self.window)} (UTC days)</p>'
            + "".join(parts) + "</body></html>\n")

    # --- health now, open incidents ---------------------------------------------------------------------

    def health(self) -> str:
        view, last = self.view, self.view.cycles.last
        title, window = "Health now", f"the newest cycle of the {self.window} (cycles.jsonl, cycle-state.json)"
        if last is None:
            state = view.cycle_state
            said = f" cycle-state.json says {state.status or 'nothing'} at {state.timestamp or 'no time'}." \
                if state else ""
            return section("health", title, window, empty(
                f"no cycle recorded in the window: cycles.jsonl is written by each `argus cycle` "
                f"(is the timer running?).{said}"))
        health = last.health or "unknown"
        age = view.now - last.epoch
        out = [f'<p><span class="badge" style="background:{VERDICTS.get(health, VERDICTS["unknown"])}">'
               f"{e(health.upper())}</span> last cycle {e(when(last.epoch))} ({e(span(max(age, 0)))} ago): "
               f"status {e(last.status)}, decider {e(last.decider or 'none')}, mode {e(last.mode)}</p>"]
        if age > GAP:
            out.append(empty(f"stale: no cycle for {span(age)}; is the timer running? (argus status says stale)"))
        if last.detail:
            out.append(f"<p>{e(last.detail)}</p>")
        failures = view.cycle_state.consecutive_failures if view.cycle_state else None
        if isinstance(failures, int | float) and failures > 0:
            out.append(f"<p>{int(failures)} failed cycle(s) in a row (cycle-state.json)</p>")
        return section("health", title, window, *out)

    def open_incidents(self) -> str:
        book = self.view.open_incidents
        title, window = "Open incidents", "open now, as the last cycle left incidents.json (whenever they opened)"
        if book is None:
            return section("incidents", title, window, empty(
                "no incident book: incidents.json is written by each cycle; none yet, or it could not be used "
                "(see What Argus could not see)"))
        if not book:
            return section("incidents", title, window, "<p>No open incident.</p>")
        now = self.view.now
        rows = [[i.subject, i.condition, i.worst, f"{when(i.opened)} ({span(now - i.opened)})", when(i.last_seen),
                 _incident_notes(i.absent, i.flapping, len(i.actions), i.text)] for i in book]
        return section("incidents", title, window, f"<p>{len(book)} open</p>",
                       table(["subject", "condition", "worst", "open since", "last seen", "notes"], rows,
                             "open-incidents"))

    # --- the registry: problems per day, actions and results --------------------------------------------

    def problems(self) -> str:
        stats, view = self.view.stats, self.view
        title = "Problems per day, by severity"
        window = f"{self.window}, from the problem registry ({view.registry.path})"
        severities = stats.count_by(1)
        said = ", ".join(f"{n} {k}" for k, n in severities.items())
        out = [f"<p>{stats.total} problem(s){': ' + e(said) if said else ''}</p>"]
        if not stats.total:
            out.append(empty(self._no_problems()))
        bars = bars_of(self.days, stats.daily_by_severity(), SEVERITIES)
        out += [legend(SEVERITIES), bar_chart(bars, SEVERITIES, label=f"problems per day, {self.window}")]
        if stats.total:
            out.append(table(["type", "problems"], Counter(stats.count_by(0)).most_common(), "problem-types"))
        return section("problems", title, window, *out)

    def _no_problems(self) -> str:
        """Why the window is empty: a quiet host, a registry outside it, or no registry at all."""
        view = self.view
        if not view.registry_exists:
            return (f"no registry at {view.registry.path}: nothing was ever recorded there "
                    "(is ARGUS_PROBLEMS_FILE right?)")
        held = view.registry.history  # counted by the scan when nothing fell in the window
        lines = held.lines if held is not None else view.registry.lines
        if lines:
            newest = f", the newest from {when(held.newest)}" if held is not None and held.newest else ""
            return (f"{lines} line(s) in the registry{newest}, none in the last {view.window_days} days "
                    "(--window-days N looks further back)")
        return "the registry is empty: no problem recorded yet"

    def subjects(self) -> str:
        history = self.view.incidents
        title, window = "Top recurring subjects", f"{self.window}, incidents opened (incidents.jsonl)"
        if history is None:
            return section("subjects", title, window, empty("incidents.jsonl could not be read (see below)"))
        if not history.exists:
            return section("subjects", title, window, empty(
                "no incident history yet: incidents.jsonl is written by each cycle that opens or resolves one"))
        if not history.top_subjects:
            return section("subjects", title, window, f"<p>No incident in the last {history.window_days} days.</p>")
        rows = [[s["subject"], s["count"], span(s["open_seconds"]), s["first_seen"], s["last_seen"]]
                for s in history.top_subjects]
        return section("subjects", title, window,
                       f"<p>{history.opened} opened, {history.resolved} resolved, {history.open} still open</p>",
                       table(["subject", "incidents", "open for", "first seen", "last seen"], rows, "top-subjects"))

    def actions(self) -> str:
        cycles = self.view.cycles
        title, window = "Actions and their outcomes", f"{self.window}, cycles.jsonl and the problem registry"
        out = ["<h3>Actions the cycles took, by result (cycles.jsonl)</h3>"]
        if cycles.actions:
            columns, rows = counted(cycles.actions)
            out.append(table(["action", *columns, "total"], rows, "actions-taken"))
        else:
            out.append(empty("no action recorded by a cycle in the window (dry runs are left out)"))
        out.append("<h3>Whether they helped (the next cycle's check)</h3>")
        if cycles.outcomes:
            columns, rows = counted(cycles.outcomes)
            out.append(table(["action", *columns, "total"], rows, "actions-judged"))
        else:
            out.append("<p>No host-changing action was judged in the window (only restarts, kills and "
                       "disk cleaning are).</p>")
        return section("actions", title, window, *self._registry_actions(), *out)

    def _registry_actions(self) -> list[str]:
        """The registry's lines by action type and result, and the host-changing ones' success rate
        (attempts are successes and failures: a rejected or observed action was not tried)."""
        stats = self.view.stats
        remediation = stats.remediation()
        out = ["<h3>Registry: problems by the action taken and its result</h3>"]
        columns, rows = counted(Counter(stats.action_results))
        if not rows:
            return [*out, empty("no problem in the window")]
        out.append(table(["action", *columns, "total"], rows, "actions-registry"))
        rate = remediation["success_rate"]
        out.append(f"<p>Host-changing actions: {remediation['attempted']} attempted, {remediation['succeeded']} "
                   f"succeeded{f' ({_percent(rate)})' if rate is not None else ''}.</p>")
        figures = remediation["by_action"].items()
        if figures:
            rows = [[name, f["attempted"], f["succeeded"], _percent(f["success_rate"])] for name, f in figures]
            out.append(table(["action", "attempted", "succeeded", "success rate"], rows, "remediation"))
        return out

    # --- blind spots --------------------------------------------------------------------------------------

    def not_seen(self) -> str:
        cycles = self.view.cycles
        title, window = "What Argus could not see", f"{self.window}, cycles.jsonl and every file this report read"
        notes = self._blind_notes()
        out = [self._cycles_chart(), "<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>" if notes else ""]
        if cycles.collector_errors:
            said = [[name, n, cycles.collector_said.get(name, "")] for name, n in cycles.collector_errors.most_common()]
            out += ["<h3>Collectors that failed</h3>", table(["collector", "cycles", "latest error"], said,
                                                              "collectors")]
        if cycles.other_errors:
            errors = cycles.other_errors.most_common()
            out += ["<h3>Other errors</h3>", table(["step", "cycles"], errors, "other-errors")]
        if cycles.cycles and not notes and not cycles.collector_errors and not cycles.other_errors:
            out.append("<p>Nothing: every cycle of the window saw every collector, and every file read cleanly.</p>")
        return section("blind", title, window, *out)

    def _cycles_chart(self) -> str:
        """Cycles per day by what they saw: a day with few or none is a day Argus was not watching."""
        cycles = self.view.cycles
        if not cycles.cycles:
            before = " (older ones are before the window)" if cycles.older else ""
            return empty(f"no cycle recorded in the window{before}: Argus saw nothing of these days. "
                         "cycles.jsonl is written by each `argus cycle`; is the timer running?")
        bars = bars_of(self.days, {d: c.verdicts for d, c in cycles.days.items()}, VERDICTS)
        return (f"<p>{cycles.cycles} cycle(s) recorded; a five-minute timer runs {CYCLES_A_DAY} a day.</p>"
                "<h3>Cycles per day, by what they saw</h3>" + legend(VERDICTS, _keys(bars))
                + bar_chart(bars, VERDICTS, label=f"cycles per day, {self.window}"))

    def _blind_notes(self) -> list[str]:
        """Blind and failed cycles, stretches without a cycle, files not read, lines skipped."""
        view, cycles = self.view, self.view.cycles
        verdicts = Counter[str]()
        for day in cycles.days.values():
            verdicts.update(day.verdicts)
        notes = []
        if verdicts["blind"]:
            notes.append(f"{verdicts['blind']} cycle(s) blind: nothing wrong in what they saw, but a check "
                         "could not answer")
        if verdicts["failed"]:
            notes.append(f"{verdicts['failed']} cycle(s) failed"
                         + "".join(f"; {ts}: {detail}" for ts, detail in cycles.failed))
        if cycles.cycles:
            edge = view.now - view.window_days * DAY
            notes += [_gap_line(lo, hi, edge, cycles.older) for lo, hi in cycles.gaps]
        return [*notes, *view.unreadable, *view.skipped()]

    # --- trends: disks with their forecast, memory -----------------------------------------------------

    def trends(self) -> str:
        view = self.view
        metrics = view.metrics
        title, window = "Disk and memory", f"{self.window}, one reading per cycle (metrics.jsonl)"
        if not metrics.readings:
            return section("trends", title, window, empty(
                f"no metrics history in the last {view.window_days} days: metrics.jsonl is written by each "
                "cycle (not by a dry run), so a new install has none yet"))
        return section("trends", title, window, "<h3>Disk usage, with the forecast dashed</h3>",
                       self._disks(metrics), "<h3>Memory used</h3>", self._memory(metrics.memory))

    def _disks(self, metrics: MetricsHistory) -> str:
        if not metrics.disks:
            return empty("no disk reading in the window: every cycle's disk collector failed or none is watched")
        trends = {t.path: t for t in self.view.trends}
        filling = [t for t in trends.values() if _fills(t)]
        ahead = self.view.window_days / 3 if filling else 0.0  # days of forecast drawn past now
        scale = self.view.window_days / (self.view.window_days + ahead)
        lines, rows = [], []
        for n, (path, series) in enumerate(sorted(metrics.disks.items())):
            color = DISK_COLORS[n % len(DISK_COLORS)]
            lines.append(Line(path, "disk-trend", color, _segments(series, scale)))
            trend = trends.get(path)
            if trend is not None and _fills(trend):
                lines.append(_forecast(trend, color, scale, ahead))
            rows.append(_disk_row(path, color, trend, self.view.now))
        ticks = [(0.0, self.days[0][5:]), (scale, "now")] + ([(1.0, f"+{ahead:.0f} d")] if ahead else [])
        chart = line_chart(lines, label=f"disk usage, {self.window}", ticks=ticks, now=scale if ahead else None)
        headers = ["disk", "now", "per day", "full"]
        return chart + '<p><span class="dashed"></span>forecast at the fitted rate</p>' + table(headers, rows, "disks")

    def _memory(self, series: Series) -> str:
        if not series.points():
            return empty("no memory reading in the window: the memory collector failed in every cycle")
        line = Line("memory", "memory-trend", "#8e24aa", _segments(series, 1.0))
        latest = series.points()[-1][1]
        chart = line_chart([line], label=f"memory used, {self.window}", ticks=[(0.0, self.days[0][5:]), (1.0, "now")])
        return chart + f"<p>{latest:.0f} % at the latest readings</p>"

    # --- LLM calls and tokens ----------------------------------------------------------------------------

    def llm(self) -> str:
        cycles = self.view.cycles
        title = "LLM calls and tokens"
        window = f"{self.window}, the calls cycles made (cycles.jsonl; `argus decide` calls are in llm.jsonl)"
        days = [(day, cycles.days.get(day)) for day in self.days]
        calls = sum(d.llm_calls for _, d in days if d)
        if not calls:
            reason = ("no cycle recorded in the window" if not cycles.cycles else
                      "the decider was the rules engine, or the pre-screen found nothing worth asking about")
            return section("llm", title, window, empty(f"no LLM call in the window: {reason}"))
        tokens_in = sum(d.input_tokens for _, d in days if d)
        tokens_out = sum(d.output_tokens for _, d in days if d)
        failed = sum(d.llm_failed for _, d in days if d)
        call_bars = [Bar(day, (("answered", d.llm_calls - d.llm_failed), ("failed", d.llm_failed)) if d else ())
                     for day, d in days]
        token_bars = [Bar(day, (("input", d.input_tokens), ("output", d.output_tokens)) if d else ())
                      for day, d in days]
        return section("llm", title, window,
                       f"<p>{calls} call(s), {failed} failed; {tokens_in:,} input and {tokens_out:,} output tokens</p>",
                       "<h3>Calls per day</h3>", legend(CALLS), bar_chart(call_bars, CALLS, label="LLM calls per day"),
                       "<h3>Tokens per day</h3>", legend(TOKENS), bar_chart(token_bars, TOKENS, label="tokens per day"))


def _segments(series: Series, scale: float) -> tuple[tuple[tuple[float, float], ...], ...]:
    """The series' slots as runs of consecutive slots: a slot without a reading breaks the line."""
    runs: list[list[tuple[float, float]]] = []
    last = -2
    for slot, value in series.points():
        if slot != last + 1:
            runs.append([])
        runs[-1].append(((slot + 0.5) / BUCKETS * scale, value))
        last = slot
    return tuple(tuple(run) for run in runs)


def _fills(trend: DiskTrend) -> bool:
    """Whether a disk is filling within ten years: a slope of a hair above zero (a disk that never
    changes) gives a forecast in the billions of years, which is no forecast."""
    return trend.days_to_full is not None and bool(trend.rate_per_day) and trend.days_to_full <= HORIZON


def _forecast(trend: DiskTrend, color: str, scale: float, ahead: float) -> Line:
    """From the fitted level at now, at the fitted rate, until full or the chart's end."""
    rate, days = trend.rate_per_day or 0.0, trend.days_to_full or 0.0
    level = 100.0 - rate * days
    reach = min(ahead, days)
    end = scale + (1 - scale) * (reach / ahead if ahead else 0)
    segment = ((scale, level), (end, level + rate * reach))
    return Line(f"{trend.path} forecast", "forecast", color, (segment,), dashed=True)


def _disk_row(path: str, color: str, trend: DiskTrend | None, now: float) -> list[object]:
    swatch = Safe(f'<span class="swatch" style="background:{color}"></span>{e(path)}')
    if trend is None:
        return [swatch, "-", "no trend", "-"]
    rate = "too few readings" if trend.rate_per_day is None else f"{trend.rate_per_day:+.2f} %"
    days = trend.days_to_full
    if days is None or not _fills(trend):
        full = "not filling" if trend.rate_per_day is not None else "-"
    else:
        full = f"in {days:.1f} days ({iso_z(now + days * DAY)[:10]}, {trend.severity})"
    return [swatch, f"{trend.percent:.1f} %", rate, full]


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0f} %"


def _keys(bars: Sequence[Bar]) -> set[str]:
    return {key for bar in bars for key, value in bar.parts if value}


def _gap_line(lo: float, hi: float, edge: float, older: bool) -> str:
    what = "before the first cycle recorded here" if lo <= edge and not older else "no cycle"
    return f"{what}: {when(lo)} to {when(hi)} ({span(hi - lo)})"


def _incident_notes(absent: int, flapping: bool, actions: int, text: str) -> str:
    notes = [text] if text else []
    notes += [f"clearing: absent {absent} cycle(s)"] if absent else []
    notes += ["flapping"] if flapping else []
    notes += [f"{actions} action(s) taken"] if actions else []
    return "; ".join(notes)


def render(view: Overview) -> str:
    return Page(view).render()

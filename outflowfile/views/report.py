"""``outflow --report FILE.html``: one self-contained page about a project.

It shows the last run's jobs on a timeline (each job's CPU and memory
efficiency in its tooltip), the distributions of duration, CPU time and peak
memory per task, each task's efficiency with notes on what it asks for and
does not use (efficiency.py), the failures with their logs, and the task
graph of the plan. Everything is inline (CSS and SVG made here, no
script): the page loads nothing and opens anywhere. Every piece of user
text (task names, parameters, logs) is escaped.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from outflowfile.graph.expand import short_value
from outflowfile.views import graphview, svggraph
from outflowfile.views.efficiency import (
    Asked,
    asked_by_slot,
    cpu_efficiency,
    mem_efficiency,
    per_task,
    percent,
    size,
)
from outflowfile.views.reportfile import MARK

if TYPE_CHECKING:
    from outflowfile.run.session import Planned, RunRequest
    from outflowfile.store.records import Record, RunInfo

LOG_TAIL = 64 * 1024  # bytes of a failed job's log shown (its end)
POINTS_PER_TASK = 400  # points drawn per task and plot; the box uses all values
PLOT_WIDTH = 720
LABEL_WIDTH = 170
ROW_HEIGHT = 26
BAR_HEIGHT = 16

STATUS_COLOURS = {"done": "#43a047", "failed": "#e53935"}
OTHER_COLOUR = "#9e9e9e"  # running when the run died, interrupted


@dataclass
class ReportData:
    project: str
    outflowfile: str
    generated: float
    graph: graphview.View
    run: RunInfo | None = None
    run_jobs: list[Record] = field(default_factory=list)
    latest: list[Record] = field(default_factory=list)  # each job's latest result
    logs: dict[int, str] = field(default_factory=dict)  # record id -> log text
    asked: dict[str, Asked] = field(default_factory=dict)  # by slot: cpus and mem asked for
    adopted: dict[int, int] = field(default_factory=dict)  # record id -> the run it came from


# --- gathering ---------------------------------------------------------------


def collect(request: RunRequest, planned: Planned) -> ReportData:
    """What the report shows: the task graph of the plan the command made,
    and from the cache the last run and every job's latest result. Only reads."""
    from outflowfile.run.session import store_of

    data = ReportData(
        project=str(request.workdir),
        outflowfile=str(request.outflowfile),
        generated=time.time(),
        graph=graphview.task_view(planned),
        asked=asked_by_slot(planned.graph),
    )
    store = store_of(request)
    if not store.exists():
        return data  # nothing ran yet; do not make an empty cache
    last, slots = store.last_run_and_slots()
    data.latest = [r for r in slots if r.status != "running"]
    if last is not None:
        data.run, data.run_jobs = last
    scheduled = store.scheduled(sorted({r.id for r in data.run_jobs + data.latest}))
    data.adopted = {row: s.adopted_from for row, s in scheduled.items() if s.adopted_from}
    for record in data.latest:
        if record.status == "failed":
            data.logs[record.id] = read_log(request.workdir, record.log)
    return data


def read_log(workdir: Path, log: str) -> str:
    """The end of a job's log file, or a note saying why there is none."""
    if not log:
        return "(no log file recorded)"
    path = Path(log) if os.path.isabs(log) else workdir / log
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(size - LOG_TAIL, 0))
            text = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:  # the local pool keeps no log for a job that printed nothing
        return f"(no log file {log}: the job printed nothing)"
    except OSError as exc:
        return f"(cannot read the log {log}: {exc.strerror or exc})"
    if size > LOG_TAIL:
        text = f"[… the first {size - LOG_TAIL} bytes are left out …]\n" + text
    return text


# --- the page ----------------------------------------------------------------


CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #222; max-width: 1100px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; }
.meta { color: #555; } .meta code { color: #222; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px;
            vertical-align: -1px; border: 1px solid #888; }
.scroll { overflow-x: auto; }
svg text { font: 12px sans-serif; fill: #222; }
svg .axis line, svg .grid line { stroke: #ccc; }
svg .median { stroke: #000; stroke-width: 2; }
pre.log { background: #f6f6f6; border: 1px solid #ddd; padding: 8px; max-height: 400px;
          overflow: auto; white-space: pre-wrap; word-break: break-all; }
.failure { margin-bottom: 24px; }
.empty { color: #777; font-style: italic; }
table.efficiency { border-collapse: collapse; }
table.efficiency th, table.efficiency td { border: 1px solid #ddd; padding: 3px 8px; }
"""


def render(data: ReportData) -> str:
    title = f"outflow report: {os.path.basename(data.project) or data.project}"
    body = [
        f"<h1>{escape(title)}</h1>",
        _meta(data),
        "<h2>Workflow graph</h2>",
        _graph_section(data.graph),
        "<h2>Timeline of the last run</h2>",
        _timeline_section(data),
        "<h2>Duration, CPU time and peak memory per task</h2>",
        _distributions_section(data.latest),
        "<h2>Efficiency per task</h2>",
        _efficiency_section(data),
        "<h2>Failures</h2>",
        _failures_section(data),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"{MARK}\n"
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _meta(data: ReportData) -> str:
    rows = [
        f"Project <code>{escape(data.project)}</code>, "
        f"Outflowfile <code>{escape(data.outflowfile)}</code>.",
        f"Made {escape(_when(data.generated))}.",
    ]
    if data.run is not None:
        run = data.run
        took = f", took {_seconds(run.ended - run.started)}" if run.ended else ""
        rows.append(
            f"Last run #{run.id}: <code>{escape(' '.join(run.argv))}</code> on "
            f"{escape(run.host)}, started {escape(_when(run.started))}{took}, "
            f"{escape(run.status)}, {len(data.run_jobs)} jobs."
        )
    return "".join(f'<p class="meta">{r}</p>' for r in rows)


def _legend(items: Sequence[tuple[str, str]]) -> str:
    spans = "".join(
        f'<span><i style="background:{colour}"></i>{escape(name)}</span>'
        for name, colour in items
    )
    return f'<p class="legend">{spans}</p>'


def _graph_section(view: graphview.View) -> str:
    if not view.nodes:
        return '<p class="empty">The targets have no jobs.</p>'
    present = {n.status for n in view.nodes}
    legend = _legend(
        [(s, graphview.COLOURS[s][0]) for s in graphview.PRECEDENCE[::-1] if s in present]
    )
    return f'{legend}<div class="scroll" id="graph">{svggraph.to_svg(view)}</div>'


# --- the timeline --------------------------------------------------------------


def record_label(record: Record) -> str:
    """A job as the timeline and failures name it: task and inputs, short."""
    try:
        params = record.params
    except Exception:  # noqa: BLE001 - a record written by a newer outflow
        params = {}
    shown = " ".join(f"{k}={short_value(v, 24)}" for k, v in params.items())
    return short_value(f"{record.task} {shown}".strip(), 80)


def lanes(records: Sequence[Record], end_of: Callable[[Record], float]) -> list[tuple[str, int]]:
    """Each job's row: its host and a lane on it in which no two jobs overlap."""
    ends: dict[str, list[float]] = {}
    out = []
    for r in records:
        host_ends = ends.setdefault(r.host, [])
        lane = next((i for i, e in enumerate(host_ends) if e <= r.started), len(host_ends))
        if lane == len(host_ends):
            host_ends.append(0.0)
        host_ends[lane] = end_of(r)
        out.append((r.host, lane))
    return out


def _timeline_section(data: ReportData) -> str:
    jobs = data.run_jobs
    if not jobs:
        return '<p class="empty">No run has recorded jobs yet.</p>'
    t0 = min(r.started for r in jobs)
    last_end = max([r.ended or r.started for r in jobs] + [data.run.ended or 0.0])  # type: ignore[union-attr]

    def end_of(r: Record) -> float:
        return r.ended if r.ended is not None else last_end

    rows = lanes(jobs, end_of)
    row_names = sorted(set(rows), key=lambda hl: (hl[0], hl[1]))
    row_y = {hl: 30 + i * ROW_HEIGHT for i, hl in enumerate(row_names)}
    span = max(last_end - t0, 1e-3)
    scale = PLOT_WIDTH / span
    height = 30 + len(row_names) * ROW_HEIGHT + 10
    width = LABEL_WIDTH + PLOT_WIDTH + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
    ]
    parts += _axis(0.0, span, LABEL_WIDTH, 18, height - 5, _seconds)
    for (host, lane), y in row_y.items():
        name = host if lane == 0 else f"{host} #{lane + 1}"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 3}" text-anchor="end">'
            f"{escape(short_value(name, 24))}</text>"
        )
    for record, row in zip(jobs, rows, strict=True):
        x = LABEL_WIDTH + (record.started - t0) * scale
        w = max((end_of(record) - record.started) * scale, 1.0)
        colour = STATUS_COLOURS.get(record.status, OTHER_COLOUR)
        took = _seconds(end_of(record) - record.started)
        tip = (
            f"{record_label(record)}\n{record.status}, {took} on {record.host}\n"
            f"started {_when(record.started)}{_job_efficiency(data, record)}"
        )
        parts.append(
            f'<rect class="bar" data-status="{escape(record.status)}" x="{x:.1f}" '
            f'y="{row_y[row]}" width="{w:.1f}" height="{BAR_HEIGHT}" fill="{colour}">'
            f"<title>{escape(tip)}</title></rect>"
        )
    parts.append("</svg>")
    legend = _legend(
        [("done", STATUS_COLOURS["done"]), ("failed", STATUS_COLOURS["failed"]),
         ("interrupted", OTHER_COLOUR)]
    )
    return f'{legend}<div class="scroll" id="timeline">{"".join(parts)}</div>'


def _job_efficiency(data: ReportData, record: Record) -> str:
    """A job's efficiency for its tooltip, and the run it was adopted from."""
    asked = data.asked.get(record.slot, Asked())
    text = (f"\nCPU efficiency {percent(cpu_efficiency(record, asked))}, "
            f"memory efficiency {percent(mem_efficiency(record, asked))}")
    if record.id in data.adopted:
        text += f"\nadopted from run {data.adopted[record.id]}"
    return text


def _efficiency_section(data: ReportData) -> str:
    """A row per task: its jobs' CPU and memory efficiency (mean and max)
    against what it asks for; then the notes on what is asked and not used."""
    tasks = per_task(data.latest, data.asked)
    if not tasks:
        return '<p class="empty">No job has run yet.</p>'
    head = ("<tr><th>Task</th><th>Jobs</th><th>Cores asked</th><th>CPU efficiency "
            "(mean / max)</th><th>Memory asked</th><th>Memory efficiency (mean / max)</th>"
            "<th>Peak memory (max)</th></tr>")
    rows = []
    for t in tasks:
        cpu = _mean_max(t.cpu)
        mem = _mean_max(t.mem)
        peak = size(max(t.peaks)) if t.peaks else "-"
        asked_mem = size(t.asked.mem) if t.asked.mem else "-"
        rows.append(f"<tr><td>{escape(t.task)}</td><td>{t.jobs}</td><td>{t.asked.cpus}</td>"
                    f"<td>{cpu}</td><td>{asked_mem}</td><td>{mem}</td><td>{peak}</td></tr>")
    notes = [f"<li>{escape(note)}</li>" for t in tasks for note in t.notes()]
    listed = f'<ul class="notes">{"".join(notes)}</ul>' if notes else ""
    return f'<table class="efficiency">{head}{"".join(rows)}</table>{listed}'


def _mean_max(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{percent(statistics.fmean(values))} / {percent(max(values))}"


def _axis(
    low: float,
    high: float,
    left: float,
    top: float,
    bottom: float,
    fmt: Callable[[float], str],
    unit: float = 1.0,
) -> list[str]:
    """Grid lines with labels for a horizontal scale from low to high, at
    round multiples of ``unit``."""
    parts = ['<g class="axis">']
    for tick in nice_ticks(low / unit, high / unit):
        value = tick * unit
        x = left + (value - low) / (high - low) * PLOT_WIDTH
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}"/>')
        parts.append(f'<text x="{x:.1f}" y="{top - 4}" text-anchor="middle">'
                     f"{escape(fmt(value))}</text>")
    parts.append("</g>")
    return parts


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round values from low to high, about ``count`` of them."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * step:
            step *= mult
            break
    first = math.ceil(low / step) * step
    n = int((high - first) / step + 1e-9)
    return [first + i * step for i in range(n + 1)]


# --- distributions -------------------------------------------------------------


@dataclass
class Metric:
    name: str
    css_id: str
    value: Callable[[Record], float | None]
    fmt: Callable[[float], str]
    unit: Callable[[float], float] = lambda high: 1.0  # round ticks are multiples of this


def _duration(r: Record) -> float | None:
    return r.ended - r.started if r.ended is not None else None


def _cpu(r: Record) -> float | None:
    return r.cpu_seconds


def _mem(r: Record) -> float | None:
    return float(r.peak_mem) if r.peak_mem is not None else None


METRICS = (
    Metric("Duration", "duration", _duration, lambda v: _seconds(v)),
    Metric("CPU time", "cpu", _cpu, lambda v: _seconds(v)),
    Metric("Peak memory", "memory", _mem, lambda v: _bytes(v), lambda high: _byte_unit(high)[1]),
)


def _distributions_section(latest: list[Record]) -> str:
    finished = [r for r in latest if r.ended is not None]
    if not finished:
        return '<p class="empty">No job has finished yet.</p>'
    by_task: dict[str, list[Record]] = {}
    for r in sorted(finished, key=lambda r: r.task):
        by_task.setdefault(r.task, []).append(r)
    out = [
        '<p class="meta">Each job\'s latest result: a point per job, the box from the '
        "first to the third quartile, the line at the median, whiskers to the extremes.</p>"
    ]
    for metric in METRICS:
        values = {
            task: [v for r in recs if (v := metric.value(r)) is not None]
            for task, recs in by_task.items()
        }
        values = {task: vs for task, vs in values.items() if vs}
        out.append(f"<h3>{escape(metric.name)}</h3>")
        if not values:
            out.append(f'<p class="empty">No {escape(metric.name.lower())} recorded.</p>')
            continue
        out.append(f'<div class="scroll" id="{metric.css_id}">{strip_plot(values, metric)}</div>')
    return "\n".join(out)


def strip_plot(values: dict[str, list[float]], metric: Metric) -> str:
    """One row per task: a box plot with the values as points over it."""
    high = max(max(vs) for vs in values.values())
    high = high if high > 0 else 1.0
    unit = metric.unit(high)
    ticks = [t * unit for t in nice_ticks(0.0, high / unit)]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else high
    top = ticks[-1] if ticks[-1] >= high else ticks[-1] + step
    height = 30 + len(values) * (ROW_HEIGHT + 10) + 10
    width = LABEL_WIDTH + PLOT_WIDTH + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
    ]
    parts += _axis(0.0, top, LABEL_WIDTH, 18, height - 5, metric.fmt, unit)

    def x_of(v: float) -> float:
        return LABEL_WIDTH + v / top * PLOT_WIDTH

    for i, (task, vs) in enumerate(values.items()):
        y = 30 + i * (ROW_HEIGHT + 10)
        mid = y + ROW_HEIGHT / 2
        q1, med, q3 = _quartiles(vs)
        summary = (f"{task}: {len(vs)} jobs, median {metric.fmt(med)}, "
                   f"min {metric.fmt(min(vs))}, max {metric.fmt(max(vs))}")
        parts.append(f'<g class="task" data-task="{escape(task)}"><title>{escape(summary)}</title>')
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{mid + 4:.1f}" text-anchor="end">'
            f"{escape(short_value(task, 24))}</text>"
        )
        parts.append(
            f'<line x1="{x_of(min(vs)):.1f}" y1="{mid:.1f}" x2="{x_of(max(vs)):.1f}" '
            f'y2="{mid:.1f}" stroke="#888"/>'
        )
        parts.append(
            f'<rect class="box" x="{x_of(q1):.1f}" y="{y:.1f}" '
            f'width="{max(x_of(q3) - x_of(q1), 1.0):.1f}" height="{ROW_HEIGHT}" '
            f'fill="#bbdefb" stroke="#1565c0"/>'
        )
        parts.append(
            f'<line class="median" x1="{x_of(med):.1f}" y1="{y:.1f}" x2="{x_of(med):.1f}" '
            f'y2="{y + ROW_HEIGHT:.1f}"/>'
        )
        for k, v in enumerate(_sample(vs, POINTS_PER_TASK)):
            jitter = ((k * 7919) % 17 - 8) / 8 * (ROW_HEIGHT / 2 - 3)
            parts.append(
                f'<circle class="point" cx="{x_of(v):.1f}" cy="{mid + jitter:.1f}" r="2.5" '
                f'fill="#0d47a1" fill-opacity="0.6"/>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, med, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, med, q3


def _sample(values: list[float], limit: int) -> list[float]:
    if len(values) <= limit:
        return values
    step = len(values) / limit
    return [values[int(i * step)] for i in range(limit)]


# --- failures ------------------------------------------------------------------


def _failures_section(data: ReportData) -> str:
    failed = [r for r in data.latest if r.status == "failed"]
    if not failed:
        return '<p class="empty">No job failed in its latest run.</p>'
    out = []
    for r in failed:
        exit_note = f", exit status {r.exit_status}" if r.exit_status is not None else ""
        out.append(
            f'<div class="failure"><h3>{escape(record_label(r))}</h3>'
            f'<p class="meta">Failed {escape(_when(r.ended or r.started))} on '
            f"{escape(r.host)}{exit_note}; log <code>{escape(r.log or '-')}</code></p>"
        )
        if r.error:
            out.append(f'<pre class="log error">{escape(r.error.rstrip())}</pre>')
        out.append(f'<pre class="log">{escape(data.logs.get(r.id, "").rstrip())}</pre></div>')
    return "\n".join(out)


# --- formatting ----------------------------------------------------------------


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.3g}s" if value < 10 else f"{value:.0f}s"
    if value < 3600:
        return f"{int(value // 60)}m{int(value % 60):02d}s"
    return f"{int(value // 3600)}h{int(value % 3600 // 60):02d}m"


def _byte_unit(value: float) -> tuple[str, float]:
    for name, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if value >= scale:
            return name, float(scale)
    return "B", 1.0


def _bytes(value: float) -> str:
    name, scale = _byte_unit(value)
    return f"{value / scale:.3g}{name}" if scale > 1 else f"{value:.0f}B"


def write(path: Path, html: str) -> None:
    """Write the page whole: a reader never sees half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def make_report(request: RunRequest, planned: Planned, path: Path) -> ReportData:
    """Write the report of ``planned`` (made for ``request``) to ``path``."""
    data = collect(request, planned)
    write(path, render(data))
    return data

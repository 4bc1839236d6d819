"""``outflow --summary``: every job of the targets, its status and its last run.

Built from a finished dry run, which the command makes and hands in (a
``Planned``, planned with the records' timings): the statuses and reasons are
the planner's own, and the latest record of each job's slot, as the plan
read it, says when it last ran, how long, CPU time, peak memory and host.
Nothing here plans, runs, reads the cache or writes.

Statuses: ``up to date``; ``outdated`` (it ran before, and would run again:
the reason says why); ``missing`` (never ran); ``failed`` (its last run
failed, or it cannot be planned: the reason says which); ``blocked`` (an
upstream job cannot be planned).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from outflowfile.graph.expand import Job, NodeState, short_value
from outflowfile.views.console import Console

if TYPE_CHECKING:
    from outflowfile.run.session import Planned
    from outflowfile.store.records import Record

UP_TO_DATE = "up to date"
OUTDATED = "outdated"
MISSING = "missing"
FAILED = "failed"
BLOCKED = "blocked"

PARAMS_WIDTH = 40  # characters of a job's parameters shown


@dataclass
class Row:
    """One job. The field names are the keys of ``--format json`` and the
    header of ``--format tsv``: keep them stable."""

    task: str
    params: str
    status: str
    reason: str
    last_run: str | None  # ISO 8601, local time with its offset
    last_status: str | None  # of that run: done, failed, interrupted, running
    duration: float | None  # seconds
    cpu: float | None  # seconds
    peak_mem: int | None  # bytes
    host: str | None
    job: str  # the job's label, as the run prints it


@dataclass
class Collecting(Console):
    """A console that keeps the planner's errors for the table instead of
    printing them."""

    errors: dict[str, str] = field(default_factory=dict)

    def node_error(self, label: str, message: str) -> None:
        self.errors[label] = message


def render(planned: Planned, errors: dict[str, str], fmt: str) -> str:
    """The summary in ``fmt``: table, json or tsv."""
    rows = summarize(planned, errors)
    if fmt == "json":
        return to_json(rows)
    if fmt == "tsv":
        return to_tsv(rows)
    from outflowfile.views.graphview import map_label

    why = {
        "map": "its jobs are known once its source is computed",
        "condition": "one side runs once the values it reads are known",
    }
    unsized = [f"{map_label(m, planned.graph)} ({why[m.kind]})" for m in planned.outcome.unsized]
    return to_table(rows, unsized)


def summarize(planned: Planned, errors: dict[str, str]) -> list[Row]:
    """A row for each job the targets need, in the graph's order."""
    reasons = {id(job): reason for job, reason in planned.outcome.would_run}
    rows = []
    for node in planned.graph.nodes:
        if not isinstance(node, Job):
            continue
        status, reason = _status(node, planned, reasons, errors)
        if status is None:
            continue
        rows.append(_row(node, status, reason, planned.snapshot.by_slot.get(node.slot)))
    return rows


def _status(
    job: Job, planned: Planned, reasons: dict[int, str], errors: dict[str, str]
) -> tuple[str | None, str]:
    state = job.state
    if state == NodeState.SKIPPED:
        return UP_TO_DATE, ""
    if state == NodeState.FAILED:
        return FAILED, errors.get(job.label, "cannot be planned")
    if state == NodeState.BLOCKED:
        return BLOCKED, "an upstream job cannot be planned"
    if state != NodeState.WOULD_RUN:
        return None, ""  # not needed by the targets
    reason = reasons.get(id(job), "")
    last = planned.snapshot.by_slot.get(job.slot)
    if last is None:
        return MISSING, reason
    if last.status == "failed":
        return FAILED, reason
    return OUTDATED, reason


def _row(job: Job, status: str, reason: str, last: Record | None) -> Row:
    duration = None
    if last is not None and last.ended is not None and last.started is not None:
        duration = round(max(last.ended - last.started, 0.0), 3)
    return Row(
        task=job.task.name,
        params=_params(job),
        status=status,
        reason=reason,
        last_run=_when(last.started) if last is not None and last.started else None,
        last_status=last.status if last is not None else None,
        duration=duration,
        cpu=round(last.cpu_seconds, 3) if last is not None and last.cpu_seconds is not None
        else None,
        peak_mem=last.peak_mem if last is not None else None,
        host=(last.host or None) if last is not None else None,
        job=job.label,
    )


def _params(job: Job) -> str:
    """The map items that tell the job apart (its label says them), else
    its parameter values, shortened."""
    items = job.label[len(job.task.name) :].strip()
    if not items and job.params:
        items = " ".join(f"{k}={short_value(v, 20)}" for k, v in job.params.items())
    return short_value(items, PARAMS_WIDTH)


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


# --- formats ------------------------------------------------------------------


def to_json(rows: list[Row]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=1, ensure_ascii=False) + "\n"


def to_tsv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    names = list(Row.__dataclass_fields__)
    writer.writerow(names)
    for r in rows:
        writer.writerow(["" if v is None else v for v in (getattr(r, n) for n in names)])
    return out.getvalue()


TABLE = (
    ("TASK", "task"), ("PARAMS", "params"), ("STATUS", "status"), ("LAST RUN", "last_run"),
    ("DURATION", "duration"), ("CPU", "cpu"), ("MEM", "peak_mem"), ("HOST", "host"),
    ("WHY", "reason"),
)  # fmt: skip


def to_table(rows: list[Row], unsized: list[str]) -> str:
    """Columns aligned for reading; counts per status below."""
    if not rows:
        lines = ["No jobs."]
    else:
        cells = [[h for h, _ in TABLE]] + [[_cell(r, name) for _, name in TABLE] for r in rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(TABLE))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in cells
        ]
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        lines.append("")
        jobs = f"{len(rows)} job" + ("" if len(rows) == 1 else "s")
        lines.append(f"{jobs}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    lines.extend(unsized)
    return "\n".join(lines) + "\n"


def _cell(row: Row, name: str) -> str:
    value: Any = getattr(row, name)
    if value is None:
        return "-"
    if name == "last_run":
        return value[:19].replace("T", " ")
    if name in ("duration", "cpu"):
        return _seconds(value)
    if name == "peak_mem":
        return _bytes(value)
    return str(value)


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(value + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "K", "M", "G", "T"):
        if size < 1024 or unit == "T":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{value}B"  # pragma: no cover - the loop returns

"""``outflow --summary``: every job of the targets, its status and its last run.

Built from a finished dry run, which the command makes and hands in (a
``Planned``, planned with the records' timings): the statuses and reasons are
the planner's own, and the latest record of each job's slot, as the plan
read it, says when it last ran, how long, CPU time, peak memory and host.
Nothing here plans, runs, reads the cache or writes.

Each job's CPU and memory efficiency (views/efficiency.py) are shown, and
under the table a line per task (mean and max) with a note when a task asks
for far more than it uses; a job a run adopted from another that died
(run/adoption.py) says which.

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
from outflowfile.views.efficiency import (
    Asked,
    asked_by_slot,
    cpu_efficiency,
    mem_efficiency,
    per_task,
    percent,
)

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
    cpu_eff: float | None  # CPU time / (cores x wall time)
    mem_eff: float | None  # peak memory / memory asked for
    adopted_from: int | None  # the run that submitted it, when another run adopted it
    environment: str  # container, venv, modules ('' for outflow's own)
    # The container image's digest: the one its last run recorded, else the
    # one its tag names now (a job that never ran).
    image: str | None
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
    return to_table(rows, unsized) + task_lines(planned)


def task_lines(planned: Planned) -> str:
    """A line per task of how well its jobs used what they asked for, and
    the notes of tasks that ask for far more than they use."""
    records = [r for r in planned.snapshot.by_slot.values() if r.started is not None]
    tasks = per_task(records, asked_by_slot(planned.graph))
    if not tasks:
        return ""
    lines = ["", "Efficiency per task (latest runs):"]
    lines += [f"  {t.line()}" for t in tasks]
    lines += [f"note: {note}" for t in tasks for note in t.notes()]
    return "\n".join(lines) + "\n"


def summarize(planned: Planned, errors: dict[str, str]) -> list[Row]:
    """A row for each job the targets need, in the graph's order."""
    reasons = {id(job): reason for job, reason in planned.outcome.would_run}
    asked = asked_by_slot(planned.graph)
    adopted = getattr(planned, "adopted", {})
    rows = []
    for node in planned.graph.nodes:
        if not isinstance(node, Job):
            continue
        status, reason = _status(node, planned, reasons, errors)
        if status is None:
            continue
        last = planned.snapshot.by_slot.get(node.slot)
        row = _row(node, status, reason, last, asked.get(node.slot, Asked()))
        if last is not None:
            row.adopted_from = adopted.get(last.id)
        row.environment, row.image = _environment(node, planned)
        if row.image is not None and last is not None:
            row.image = getattr(planned, "images", {}).get(last.id, row.image)
        rows.append(row)
    return rows


def _environment(job: Job, planned: Planned) -> tuple[str, str | None]:
    """What the job runs with, and its image's digest (None: no image)."""
    env = job.resources.environment
    envs = planned.envs
    if not env or (envs is not None and not envs.enabled):
        return "", None
    image = envs.image_digest(env.container) if env.container and envs is not None else None
    return env.describe(), image


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


def _row(job: Job, status: str, reason: str, last: Record | None, asked: Asked) -> Row:
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
        cpu_eff=_rounded(cpu_efficiency(last, asked)) if last is not None else None,
        mem_eff=_rounded(mem_efficiency(last, asked)) if last is not None else None,
        adopted_from=None,
        environment="",
        image=None,
        job=job.label,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


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
    ("DURATION", "duration"), ("CPU", "cpu"), ("MEM", "peak_mem"), ("CPU%", "cpu_eff"),
    ("MEM%", "mem_eff"), ("HOST", "host"), ("WHY", "reason"),
)  # fmt: skip
ENVIRONMENT_COLUMNS = (("ENVIRONMENT", "environment"), ("IMAGE", "image"))


def to_table(rows: list[Row], unsized: list[str]) -> str:
    """Columns aligned for reading; counts per status below."""
    if not rows:
        lines = ["No jobs."]
    else:
        table: tuple[tuple[str, str], ...] = TABLE
        if any(r.environment for r in rows):  # shown only where some job has one
            table = TABLE[:-1] + ENVIRONMENT_COLUMNS + TABLE[-1:]
        cells = [[h for h, _ in table]] + [[_cell(r, name) for _, name in table] for r in rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(table))]
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
    if name == "reason" and row.adopted_from is not None:
        adopted = f"adopted from run {row.adopted_from}"
        return f"{value} ({adopted})" if value else adopted
    if value is None:
        return "-"
    if name in ("cpu_eff", "mem_eff"):
        return percent(value)
    if name == "last_run":
        return value[:19].replace("T", " ")
    if name in ("duration", "cpu"):
        return _seconds(value)
    if name == "peak_mem":
        return _bytes(value)
    if name == "image":
        return value[:12]
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

"""How well jobs used what they asked for, as Slurm's ``seff`` tells it:
CPU efficiency (CPU time over cores times wall time) and memory efficiency
(peak resident memory over the memory asked for), per job and per task,
and a note when a task asks for far more than it uses.

What a job asked for comes from the plan's graph (its task's ``cpus:`` and
``mem:``), what it used from its record (CPU time, peak memory, start and
end). The peak is the job's own (executors/spawn.py).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from outflowfile.graph.expand import Graph
    from outflowfile.store.records import Record

GIB = 1 << 30
MEM_WASTE = 4  # asked for more than this many times the peak (and over 1 GiB): a note
CPU_WASTE = 2  # asked for at least this many times the cores used: a note


@dataclass(frozen=True)
class Asked:
    cpus: int = 1
    mem: int | None = None  # bytes


def asked_by_slot(graph: Graph) -> dict[str, Asked]:
    """What each job of the plan asks for, by its slot."""
    from outflowfile.graph.expand import Job

    return {
        node.slot: Asked(node.resources.cpus, node.resources.mem)
        for node in graph.nodes
        if isinstance(node, Job)
    }


def wall(record: Record) -> float | None:
    if record.ended is None or record.started is None:
        return None
    return max(record.ended - record.started, 0.0)


def cpu_efficiency(record: Record, asked: Asked) -> float | None:
    """CPU time / (cores x wall time), or None when not measured."""
    seconds = wall(record)
    if record.cpu_seconds is None or not seconds:
        return None
    return record.cpu_seconds / (max(asked.cpus, 1) * seconds)


def mem_efficiency(record: Record, asked: Asked) -> float | None:
    """Peak memory / memory asked for; None when either is unknown."""
    if record.peak_mem is None or not asked.mem:
        return None
    return record.peak_mem / asked.mem


@dataclass
class TaskUse:
    """One task's jobs taken together."""

    task: str
    asked: Asked
    jobs: int = 0
    cpu: list[float] = field(default_factory=list)  # efficiencies
    mem: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)
    cores_used: list[float] = field(default_factory=list)

    def add(self, record: Record) -> None:
        self.jobs += 1
        cpu = cpu_efficiency(record, self.asked)
        if cpu is not None:
            self.cpu.append(cpu)
            self.cores_used.append(cpu * max(self.asked.cpus, 1))
        mem = mem_efficiency(record, self.asked)
        if mem is not None:
            self.mem.append(mem)
        if record.peak_mem is not None:
            self.peaks.append(record.peak_mem)

    def line(self) -> str:
        """``task: N jobs, CPU efficiency 12% mean, 30% max; memory ...``"""
        jobs = f"{self.jobs} job" + ("" if self.jobs == 1 else "s")
        parts = [f"{self.task}: {jobs}"]
        if self.cpu:
            parts.append(f"CPU efficiency {_mean_max(self.cpu)} of {self.asked.cpus} "
                         + ("core" if self.asked.cpus == 1 else "cores"))
        if self.mem and self.asked.mem:
            parts.append(f"memory efficiency {_mean_max(self.mem)} of {size(self.asked.mem)}")
        elif self.peaks:
            parts.append(f"peak memory {size(max(self.peaks))} at most")
        return ", ".join(parts)

    def notes(self) -> list[str]:
        """What the task asks for and plainly does not use."""
        found = []
        mem, peak = self.asked.mem, max(self.peaks, default=None)
        if mem and peak is not None and mem > MEM_WASTE * peak and mem > GIB:
            found.append(f"{self.task} asks for {size(mem)} of memory and uses at most "
                         f"{size(peak)}: mem: {size(_rounded_up(peak * 1.5))} would do")
        used = max(self.cores_used, default=None)
        if used is not None and self.asked.cpus > 1 and self.asked.cpus >= CPU_WASTE * used:
            found.append(f"{self.task} asks for {self.asked.cpus} cores and uses "
                         f"{used:.1f} at most")
        return found


def per_task(records: list[Record], asked: dict[str, Asked]) -> list[TaskUse]:
    """The tasks of ``records`` (jobs that ran: done or failed), in order seen."""
    tasks: dict[str, TaskUse] = {}
    for record in records:
        if record.status not in ("done", "failed"):
            continue
        ask = asked.get(record.slot, Asked())
        use = tasks.get(record.task)
        if use is None:
            use = tasks[record.task] = TaskUse(record.task, ask)
        use.add(record)
    return list(tasks.values())


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _mean_max(values: list[float]) -> str:
    return f"{percent(statistics.fmean(values))} mean, {percent(max(values))} max"


def size(value: float) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"  # pragma: no cover - the loop returns


def _rounded_up(value: float) -> int:
    """Up to a whole number of mebibytes."""
    mib = 1 << 20
    return int(-(-value // mib) * mib)

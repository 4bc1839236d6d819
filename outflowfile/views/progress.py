"""The status line of a run on a terminal, redrawn in place below the lines
of finished jobs: done / running / failed of the total, the time elapsed and
an estimate of the time left.

The estimate adds up what each job still to finish is expected to take: the
duration its last run took (the cache's record of the same slot), else the
mean of its task in the cache, else the mean of its task this run, else the
mean of every job finished this run. Jobs not decided yet (waiting on
upstream jobs) count at the mean of what is known. The sum is divided by the
most jobs seen running at once.

Redraws are throttled: the run loop tells the console about every job, and a
100,000-job run must not spend its time drawing.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from outflowfile.run.report import Counts

if TYPE_CHECKING:
    from outflowfile.graph.expand import Job

# Carriage return, then erase to the end of the line (ANSI "EL").
ERASE = "\r\x1b[K"
REDRAW_INTERVAL = 0.1  # seconds between redraws at most, unless lines are printed


@dataclass
class History:
    """How long jobs took the last time they ran, from the cache."""

    by_slot: dict[str, float] = field(default_factory=dict)
    by_task: dict[str, float] = field(default_factory=dict)  # mean per task

    @classmethod
    def from_durations(cls, rows: Iterable[tuple[str, str, float]]) -> History:
        """From ``(slot, task, seconds)`` rows, oldest first."""
        by_slot: dict[str, float] = {}
        tasks: dict[str, list[float]] = {}
        for slot, task, seconds in rows:
            seconds = max(float(seconds), 0.0)
            by_slot[slot] = seconds
            tasks.setdefault(task, []).append(seconds)
        by_task = {t: sum(s) / len(s) for t, s in tasks.items()}
        return cls(by_slot, by_task)


@dataclass
class Estimate:
    """The work left, kept up to date job by job in constant time."""

    load_history: Callable[[], History]
    history: History | None = None
    known_queued: float = 0.0  # expected seconds of queued jobs with a history
    unknown_queued: Counter[str] = field(default_factory=Counter)  # task -> queued jobs
    queued_expect: dict[int, float | None] = field(default_factory=dict)
    running: dict[int, tuple[float, float | None, str]] = field(default_factory=dict)
    finished: dict[str, list[float]] = field(default_factory=dict)  # task -> [n, seconds]
    finished_n: int = 0
    finished_sum: float = 0.0
    most_running: int = 1

    def _past(self, job: Job) -> float | None:
        if self.history is None:
            self.history = self.load_history()
        hist = self.history
        seconds = hist.by_slot.get(job.slot)
        return seconds if seconds is not None else hist.by_task.get(job.task.name)

    def queued(self, job: Job) -> None:
        expect = self._past(job)
        self.queued_expect[job.id] = expect
        if expect is None:
            self.unknown_queued[job.task.name] += 1
        else:
            self.known_queued += expect

    def started(self, job: Job, now: float) -> None:
        expect = self.queued_expect.pop(job.id, None)
        if expect is None:
            if self.unknown_queued[job.task.name] > 0:
                self.unknown_queued[job.task.name] -= 1
        else:
            self.known_queued -= expect
        self.running[job.id] = (now, expect, job.task.name)
        self.most_running = max(self.most_running, len(self.running))

    def ended(self, job: Job, seconds: float | None) -> None:
        """A job stopped running; ``seconds`` is its duration if it succeeded."""
        self.running.pop(job.id, None)
        if seconds is None:
            return
        stats = self.finished.setdefault(job.task.name, [0, 0.0])
        stats[0] += 1
        stats[1] += seconds
        self.finished_n += 1
        self.finished_sum += seconds

    def _this_run(self, task: str) -> float | None:
        stats = self.finished.get(task)
        if stats:
            return stats[1] / stats[0]
        return self.finished_sum / self.finished_n if self.finished_n else None

    def seconds_left(self, undecided: int, now: float) -> float | None:
        """The time left, or None while nothing is known to estimate it from."""
        work = self.known_queued
        known = len(self.queued_expect) - sum(self.unknown_queued.values())
        for task, n in self.unknown_queued.items():
            if n:
                mean = self._this_run(task)
                if mean is None:
                    return None
                work += n * mean
        for started, expect, task in self.running.values():
            if expect is None:
                expect = self._this_run(task)
                if expect is None:
                    return None
            work += max(expect - (now - started), 0.0)
        if undecided:
            typical = self._typical(known)
            if typical is None:
                return None
            work += undecided * typical
        return work / self.most_running

    def _typical(self, known: int) -> float | None:
        """The mean expected duration of a job, from this run or the cache."""
        if self.finished_n:
            return self.finished_sum / self.finished_n
        if known > 0:
            return self.known_queued / known
        return None


@dataclass
class StatusLine:
    out: TextIO
    counts: Callable[[], Counts]
    estimate: Estimate
    clock: Callable[[], float] = time.monotonic
    started: float = 0.0
    last_draw: float = float("-inf")
    drawn: bool = False

    def __post_init__(self) -> None:
        self.started = self.clock()

    def text(self) -> str:
        now = self.clock()
        c = self.counts()
        parts = [f"{c.done}/{c.total} done", f"{c.running} running"]
        if c.failed:
            parts.append(f"{c.failed} failed")
        parts.append(f"{clock_text(now - self.started)} elapsed")
        undecided = max(c.total - c.done - c.failed - c.running - c.queued, 0)
        left = self.estimate.seconds_left(undecided, now)
        if left is not None and c.done + c.failed < c.total:
            parts.append(f"ETA {clock_text(left)}")
        return _fit("outflow: " + ", ".join(parts), self._width())

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.out.fileno()).columns
        except (OSError, ValueError, AttributeError):
            return 80

    def tick(self) -> None:
        """Redraw, unless it was drawn a moment ago."""
        if self.clock() - self.last_draw >= REDRAW_INTERVAL:
            self.draw()

    def draw(self) -> None:
        self._write(ERASE + self.text())
        self.drawn = True

    def above(self, text: str) -> None:
        """Print ``text`` (whole lines) above the status line, which follows it."""
        self._write(ERASE + text + "\n" + self.text())
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            self.out.write(ERASE)
            self.out.flush()
            self.drawn = False

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        self.last_draw = self.clock()


def is_terminal(out: TextIO) -> bool:
    """Whether ``out`` is a terminal that can redraw a line."""
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def clock_text(seconds: float) -> str:
    """``0:07``, ``12:30``, ``1:02:03``."""
    total = int(seconds + 0.5)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def _fit(text: str, width: int) -> str:
    """Cut to one column less than the terminal: writing in the last column
    wraps on some terminals, and a wrapped line cannot be redrawn in place."""
    limit = max(width - 1, 10)
    return text if len(text) <= limit else text[: limit - 3] + "..."
